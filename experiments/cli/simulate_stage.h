// The simulate stage: simulated clean sequences, corrupted by the anomaly injectors, written as
// shard sets with leave-one-out splits. `seqmend simulate` (cmd_simulate.cpp) is a thin CLI over
// run_simulate(); a pipeline can call it directly.
//
// Output directory DIR (written by experiments/eval/corrupted_set.h, as `seqmend corrupt` writes it):
//   manifest.json, {train,valid,test}-*.h5  the corrupted, labelled shard set (label, seq_label):
//                                           train = each sequence without its last two events,
//                                           valid = without the last, test = full (as ingest does)
//   clean/                                  the same users before corruption (all labels clean), same
//                                           splits; with inject.protect_last >= 2 (the default here)
//                                           the valid/test targets are identical in both sets
//   repair_truth.tsv                        kind, user, position, item: for each deleted event the
//                                           gap event's position in the user's full (test) sequence
//                                           and the deleted item; for each substitution the
//                                           substituted event's position and the original item
//   config.yaml, run.json                   resolved config and provenance (experiments/run/run_dir.h)
// manifest.json's extra.simulate holds the summary (counts per label, push targets, seeds).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "experiments/eval/corrupted_set.h"
#include "io/config.h"
#include "io/injectors.h"
#include "io/simulator_config.h"

namespace seqmend {

struct SimulateConfig : CorruptedSetOutput {
  SimulatorConfig simulator;
  InjectionConfig inject = [] {
    InjectionConfig c;
    c.protect_last = 2;  // keep leave-one-out targets genuine (see io/injectors.h)
    return c;
  }();
  uint64_t inject_seed = 0;  // 0: derived from simulator.seed

  void visit(ConfigVisitor& v) {
    v.section("simulator", simulator, "behaviour simulator (io/simulator_config.h)");
    v.section("inject", inject, "anomaly injectors (io/injectors.h)");
    v.field("inject_seed", inject_seed, "seed of the injectors; 0 = derived from simulator.seed");
    visit_output(v);
  }
};

// Simulates, injects, splits and writes everything under `out_dir`; returns the summary that is also
// stored in the manifest (users, bots, items, events, label counts). Throws seqmend::Error.
nlohmann::json run_simulate(SimulateConfig& cfg, const std::string& out_dir);

}  // namespace seqmend
