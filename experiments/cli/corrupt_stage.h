// The corrupt stage: anomalies injected into a real (ingested) shard set, so detection and repair
// can be measured on real behaviour with known ground truth. `seqmend corrupt` (cmd_corrupt.cpp)
// is a thin CLI over run_corrupt(); the pipeline runs it after ingest when its file has a
// `corrupt:` section.
//
// Input: a shard set with leave-one-out splits (test = each user's full sequence, io/splits.h) and
// no anomaly labels. Every user's full sequence goes through the injectors (io/injectors.h; no item
// clusters on real data: noise items are items the user never touched, drawn by the input's item
// popularity, uniformly, or either with even odds: `inject.noise_items`). Output directory DIR has
// the layout of `seqmend simulate` (experiments/eval/corrupted_set.h): the corrupted labelled set,
// DIR/clean (the input's sequences, split the same way, labels all clean), DIR/repair_truth.tsv,
// config.yaml and run.json. Item and user tables are the input's, so CSV outputs downstream still
// show the original ids; bot users are appended to the user table as "bot-1", "bot-2", ...
// manifest.json's extra.corrupt holds the summary and the input manifest's other extra entries
// (the ingest report) are carried over.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "experiments/eval/corrupted_set.h"
#include "io/config.h"
#include "io/injectors.h"

namespace seqmend {

struct CorruptConfig : CorruptedSetOutput {
  InjectionConfig inject = [] {
    InjectionConfig c;
    c.protect_last = 2;  // keep the leave-one-out targets genuine and identical in DIR and DIR/clean
    return c;
  }();
  uint64_t seed = 1;  // the injectors' seed

  void visit(ConfigVisitor& v) {
    v.section("inject", inject, "anomaly injectors (io/injectors.h)");
    v.field("seed", seed, "seed of the injectors");
    visit_output(v);
  }
};

// Reads `input_dir`, injects, splits and writes everything under `out_dir` (which must not be the
// input); returns the summary also stored in the manifest (users, bots, items, events, label
// counts). Throws seqmend::Error naming the directory and what is wrong with it.
nlohmann::json run_corrupt(CorruptConfig& cfg, const std::string& input_dir, const std::string& out_dir);

}  // namespace seqmend
