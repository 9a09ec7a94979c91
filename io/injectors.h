// Anomaly injectors: corrupt a clean SequenceSet (simulated or real) with known anomalies and
// return the ground truth. The detector's fine-tuning calls this on the fly, once per epoch with a
// fresh seed, so the same clean data yields new corruptions every epoch:
//
//   Injector injector(clean, cfg, ctx);          // once: popularity tables, action codes
//   InjectionResult r = injector.run(epoch_seed);   // per epoch: r.data is labelled
//   InjectionResult b = injector.run(batch, seed);  // or per batch, same corruption per user
//
// Event-level anomalies (label on the event in `label`):
//   noise click   — an item outside the user's interests inserted after an event.
//                   "Outside" means: in none of the clusters of the user's items when an item →
//                   cluster map is given (simulated data); otherwise (real data, no clusters) an
//                   item the user never touched, drawn by popularity (or uniformly), which is the
//                   cheap approximation of "far from the user's history".
//   substitution  — an event's item replaced by a near id (±radius: a slip in a listing; with the
//                   simulator's contiguous cluster ids mostly a same-cluster item) or a uniform item.
//   burst repeat  — the event's item repeated burst_min..burst_max times within seconds, same action;
//                   the repeats are labelled, the original event is not.
//   gap after     — events deleted; the first surviving event after a deleted run is labelled, and
//                   the deleted items are listed in the result (never the last event of a sequence,
//                   so every gap has a labelled event after it; sequences keep >= 3 events).
// Edit mode (`mode: edit`, io/edit_corruption.cpp) replaces the four event-level injectors above with
// the corruption process of noisy-log benchmarks: each event, left to right, is kept, deleted or gets
// noise items inserted before it (then kept), with the given probabilities; a deletion cascades to
// the next events and an insertion to more items, each with its own probability and cap. Insertions
// are items outside the user's sequence (uniform, or by popularity), labelled noise clicks; the first
// kept event after a deleted run is labelled gap-after (also when insertions sit between them).
// Sequence-level anomalies (new users appended after the clean ones; seq_label and every event):
//   bot uniform   — uniformly random items;   bot popular — flooding of the top popular items;
//   bot push      — shilling: target items (from the less popular 80 %) mixed with popular fillers;
//                   targets get the "strongest" action code in the data (buy, or the top rating).
//
// Plausibility: inserted events take timestamps between their neighbours (inside the session; a few
// seconds after the previous event at a session boundary or the end), so timestamps stay sorted; noise
// events take the data's most common action, bursts copy the repeated event's action. Sets without
// timestamps or actions get none. Labels already on the input (a set injected before) are copied
// unless a new anomaly lands on the same event. The input is never modified; results are a pure
// function of (clean, config, context, seed), independent of the thread count. Event-level choices
// for a sequence depend only on (seed, its user id, its events), so a user is corrupted identically
// in a batch or in the whole set; bots depend on (seed, bot index) and the set's size, so a caller
// injecting per batch should mix the batch index into the seed. Bot user ids continue after the
// largest user id of the input (unique within one call, not across calls).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/config.h"
#include "io/sampling.h"
#include "io/sequence_set.h"

namespace seqmend {

// The keep / delete / insert process of `mode: edit`; keep = 1 − delete_prob − insert_prob.
struct EditCorruption {
  double delete_prob = 0.1;     // an event starts a deleted run
  double insert_prob = 0.1;     // noise items are inserted before an event
  double delete_cascade = 0.3;  // each further event of a deleted run, until max_delete_run
  double insert_cascade = 0.3;  // each further noise item of an insertion, until max_insert_run
  int64_t max_delete_run = 3;
  int64_t max_insert_run = 3;

  // Expected events inserted and deleted per clean event, far from the protected tail of a long
  // sequence: an op is drawn per event not consumed by a deletion cascade.
  double expected_insert_run() const;
  double expected_delete_run() const;
  double inserted_per_event() const;
  double deleted_per_event() const;

  void visit(ConfigVisitor& v) {
    v.field("delete_prob", delete_prob, "probability that an event is deleted (starting a run)", 0.0, 1.0);
    v.field("insert_prob", insert_prob, "probability that noise items are inserted before an event", 0.0, 1.0);
    v.field("delete_cascade", delete_cascade, "probability that a deleted run takes the next event too", 0.0, 1.0);
    v.field("insert_cascade", insert_cascade, "probability that an insertion adds one more item", 0.0, 1.0);
    v.field("max_delete_run", max_delete_run, "most events one deletion removes", 1, 1000);
    v.field("max_insert_run", max_insert_run, "most items one insertion adds", 1, 1000);
  }
};

struct InjectionConfig {
  // rates: the independent injectors below; edit: the keep / delete / insert process (`edit`), with
  // noise_items choosing how inserted items are drawn. Bots come from bot_rate in both modes.
  std::string mode = "rates";
  EditCorruption edit;
  double noise_rate = 0.02;                // noise events inserted per clean event
  // How noise items are drawn: popularity | uniform | mixed (each item from either, even odds; for
  // injections into a log whose own noise is of unknown kind).
  std::string noise_items = "popularity";
  double substitution_rate = 0.02;         // fraction of clean events whose item is replaced
  double substitution_near_prob = 0.5;     // a near-id slip rather than a uniform item
  int64_t substitution_radius = 5;
  double burst_rate = 0.005;  // bursts started per clean event
  int64_t burst_min = 3;      // repeats added per burst
  int64_t burst_max = 8;
  double burst_gap_max_s = 3.0;  // repeats are 0..this many seconds apart
  double drop_rate = 0.02;       // fraction of (droppable) clean events deleted
  double bot_rate = 0.03;        // bot sequences added per clean sequence
  std::vector<double> bot_mix = {1.0, 1.0, 1.0};  // relative shares of uniform, popular, push bots
  int64_t bot_popular_top = 100;  // popular bots and push fillers draw from this many top items
  int64_t push_targets = 5;       // target items shared by all push bots of one run
  double push_share = 0.5;        // fraction of a push bot's events that hit a target
  double bot_gap_median_s = 6.0;  // bots act fast and steadily (log-normal, sigma 0.5)
  // The last protect_last clean events of each sequence are kept as they are, with nothing inserted
  // between or after them: leave-one-out targets (valid = second last, test = last) then stay the
  // same genuine events in the clean and the corrupted set, so the two can be compared.
  int64_t protect_last = 0;

  void visit(ConfigVisitor& v) {
    v.choice("mode", mode, {"rates", "edit"}, "event-level corruption: independent rates, or keep/delete/insert edits");
    v.section("edit", edit, "the keep/delete/insert process of mode: edit");
    v.field("noise_rate", noise_rate, "noise clicks inserted per clean event", 0.0, 1.0);
    v.choice("noise_items", noise_items, {"popularity", "uniform", "mixed"},
             "distribution noise items are drawn from (mixed: each item from either, even odds)");
    v.field("substitution_rate", substitution_rate, "fraction of events whose item is substituted", 0.0, 1.0);
    v.field("substitution_near_prob", substitution_near_prob, "share of substitutions that are near-id slips",
            0.0, 1.0);
    v.field("substitution_radius", substitution_radius, "max id distance of a near-id slip", 1, 1000000);
    v.field("burst_rate", burst_rate, "bursts of repeats started per clean event", 0.0, 1.0);
    v.field("burst_min", burst_min, "fewest repeats in a burst", 1, 10000);
    v.field("burst_max", burst_max, "most repeats in a burst", 1, 10000);
    v.field("burst_gap_max_s", burst_gap_max_s, "max seconds between burst repeats", 0.0, 3600.0);
    v.field("drop_rate", drop_rate, "fraction of events deleted (gap labels)", 0.0, 0.9);
    v.field("bot_rate", bot_rate, "bot sequences added per clean sequence", 0.0, 100.0);
    v.field("bot_mix", bot_mix, "relative shares of [uniform, popular, push] bots");
    v.field("bot_popular_top", bot_popular_top, "top-popular items used by popular bots and push fillers", 1,
            int64_t(1) << 30);
    v.field("push_targets", push_targets, "target items pushed by push bots", 1, 1000000);
    v.field("push_share", push_share, "fraction of a push bot's events on targets", 0.0, 1.0);
    v.field("bot_gap_median_s", bot_gap_median_s, "median seconds between bot events", 0.0, 1e6);
    v.field("protect_last", protect_last, "last events of each sequence left untouched (leave-one-out targets)",
            0, 1000000);
  }
};

// What the injectors may know about the items besides the clean sequences.
struct InjectionContext {
  int64_t num_items = 0;              // V; 0 → the largest item id in the clean set
  std::vector<int32_t> item_cluster;  // (V + 1) cluster per item id, or empty (real data)
  // (V) events of item i + 1 over the whole data (ShardSet::item_counts()), for noise popularity and
  // bot targets; empty → counted in the clean set. Give it when each rank builds its own Injector
  // from its share, so every rank draws from the same popularity.
  std::vector<int64_t> item_counts;
};

struct InjectionResult {
  SequenceSet data;                      // corrupted copy; label and seq_label filled
  std::vector<int64_t> source_sequence;  // (n') clean sequence of each output sequence; -1 for bots
  std::vector<int64_t> source_event;     // (E') clean event each output event copies; -1 if inserted
  // Deleted events, grouped by output sequence: sequence s lost dropped_item[d] for d in
  // [dropped_offsets[s], dropped_offsets[s + 1]), in order. dropped_before[d] is the output event
  // (labelled kLabelGapAfter) that follows the gap, dropped_source_event[d] the clean event.
  std::vector<int64_t> dropped_offsets{0};     // (n' + 1)
  std::vector<int32_t> dropped_item;           // (D)
  std::vector<int64_t> dropped_before;         // (D)
  std::vector<int64_t> dropped_source_event;   // (D)
  std::vector<int32_t> push_targets;           // items the push bots promoted
  std::array<int64_t, 8> label_events{};       // events per AnomalyLabel code in data.label
  std::array<int64_t, 8> label_sequences{};    // sequences per code in data.seq_label
};

class Injector {
 public:
  // Keeps a reference to `clean`: it must outlive the injector and stay unchanged.
  Injector(const SequenceSet& clean, InjectionConfig config, InjectionContext context = {});

  // Corrupts the clean set. threads: 0 = hardware concurrency; the result does not depend on it.
  InjectionResult run(uint64_t seed, int threads = 0) const { return run(clean_, seed, threads); }
  // Corrupts another set (a batch, one rank's share) with the tables built from the clean set, so a
  // user gets the same corruption here as in run(seed). Item ids must be in [1, V].
  InjectionResult run(const SequenceSet& batch, uint64_t seed, int threads = 0) const;

  int64_t num_items() const { return num_items_; }
  const InjectionConfig& config() const { return cfg_; }

 private:
  // Event-level corruption of clean sequences [begin, end) appended to `out` (event indices local
  // to `out`; run() shifts them when it joins the parts of several threads).
  void corrupt_sequences(const SequenceSet& in, uint64_t seed, int64_t begin, int64_t end,
                         InjectionResult& out) const;
  // Appends one output event (the columns the input has) and the clean event it copies (-1: inserted).
  struct EventSink {
    InjectionResult& out;
    bool has_ts, has_act;
    void operator()(int32_t item, int64_t ts, int8_t act, int8_t lab, int64_t src) const;
  };
  // The same for mode: edit (io/edit_corruption.cpp).
  void edit_sequences(const SequenceSet& in, uint64_t seed, int64_t begin, int64_t end, InjectionResult& out) const;
  int32_t draw_noise_item(Rng& rng, const std::vector<int32_t>& avoid_items,
                          const std::vector<int32_t>& avoid_clusters) const;
  void add_bots(const SequenceSet& in, uint64_t seed, InjectionResult& r) const;

  const SequenceSet& clean_;
  InjectionConfig cfg_;
  InjectionContext ctx_;
  int64_t num_items_ = 0;
  std::vector<int64_t> item_count_;   // (V + 1) events per item in the clean set
  std::vector<int32_t> by_popularity_;  // item ids, most frequent first (ties: lower id)
  DiscreteSampler popularity_;        // over ids 1..V (index + 1), counts + 1 smoothing
  enum class NoiseSource { popularity, uniform, mixed };
  NoiseSource noise_source_ = NoiseSource::popularity;  // cfg_.noise_items, read once
  int8_t common_action_ = kActionNone;  // most frequent action code (noise events, bot fillers)
  int8_t strongest_action_ = kActionNone;  // largest action code (push targets)
};

// One-shot form: InjectionResult of Injector(clean, config, context).run(seed).
InjectionResult inject(const SequenceSet& clean, const InjectionConfig& config, uint64_t seed,
                       const InjectionContext& context = {});

}  // namespace seqmend
