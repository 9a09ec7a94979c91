// Canaries: known anomalies injected into the pretraining copy of a log, never into the log itself.
//
// A masked-item model pretrained on a noisy log learns the log's own anomalies as behaviour: after
// a few hundred epochs their surprisal is lower than that of an anomaly it never saw. Calibrating
// on fresh injections then mistakes how the log's noise scores (log_precision under-estimates its
// share, and deletions stop early). Canaries are injected with the same process once, before
// pretraining, so the encoder sees them exactly as often as the log's own anomalies; fine-tuning
// then calibrates on the same canaries (the same split with them re-injected: the injectors corrupt
// a user the same way given the same events), their labels being the only ones it knows. The log
// that is detected and repaired never holds them.
//
// Only the split pretraining saw carries the canaries it saw: the edit injector's protected tail
// and minimum length move with a sequence's end, so re-injecting into the valid split (one event
// longer) puts fresh canaries before its last events, ones the encoder never learnt. On a sparse log
// (Amazon Video Games, 9 events per user) those were a third of a short sequence's canaries and
// detected ten times as often as the log's own noise.
#pragma once

#include <cstdint>
#include <vector>

#include "io/config.h"
#include "io/injectors.h"
#include "io/sequence_set.h"

namespace seqmend {

// The split pretraining injects the canaries into and fine-tuning calibrates on.
inline constexpr const char* kCanarySplit = "train";

struct CanaryConfig {
  bool enabled = false;
  InjectionConfig inject = [] {
    InjectionConfig c;
    c.mode = "edit";
    c.edit.delete_prob = 0.02;
    c.edit.insert_prob = 0.02;
    c.noise_items = "uniform";
    c.bot_rate = 0;
    c.protect_last = 2;
    return c;
  }();
  uint64_t seed = 0x63616e617279;

  void visit(ConfigVisitor& v) {
    v.field("enabled", enabled, "inject known anomalies into the pretraining copy for fine-tuning to calibrate on");
    v.section("inject", inject, "the canaries' injection (io/injectors.h); bots are not allowed");
    v.field("seed", seed, "seed of the canaries");
  }
};

// `set` with the canaries injected (labelled as the injectors label them). Item popularity and V
// come from the whole log (its manifest), so every rank's share and every split draw alike.
SequenceSet with_canaries(const SequenceSet& set, const CanaryConfig& cfg, int64_t num_items,
                          const std::vector<int64_t>& item_counts);

}  // namespace seqmend
