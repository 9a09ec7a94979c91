// `seqmend evaluate`: does repairing the data help the recommender? Trains the recommender with the
// same pretrain config and budget on the raw (corrupted) shard set, on the repaired one and, when
// given, on the clean one (the ceiling), each through the trainer's public API (experiments/
// trainer.h), and evaluates every model on the same test targets: the clean set's test split when
// there is one, else the raw set's. Model selection (early stopping) uses each set's own valid split.
//
// Output (run_dir): raw/, repaired/, clean/ (a pretrain run directory each: config.yaml,
// metrics.jsonl, results.json; with seeds > 1 one per seed, <set>/seed-<k>/) and evaluate.json: per
// set the test metrics (hr@K, ndcg@K, ...; the mean over seeds, each seed's under `runs`), and
// recovered_share per metric = (repaired − raw) / (clean − raw) (null without clean or when
// clean == raw).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "io/config.h"

namespace seqmend {

class DataParallelGroup;

struct EvaluateConfig {
  std::string pretrain_config;  // the pretrain config (YAML) every model is trained with
  std::string raw_dir;          // corrupted shard set
  std::string repaired_dir;     // repaired shard set
  std::string clean_dir;        // clean shard set ("" = none: no ceiling, raw test targets)
  std::string run_dir;
  // Trainings per set, with the pretrain seeds (data order and parameter init) + 0, 1, ...: one training's HR@10 moves by about
  // sqrt(p(1 − p)/users) between seeds, which can be the whole raw-to-clean difference on small data.
  int64_t seeds = 1;

  void visit(ConfigVisitor& v) {
    v.field("pretrain_config", pretrain_config, "pretrain config file: model, optimizer, budget, seed, eval");
    v.field("raw_dir", raw_dir, "the raw (corrupted) shard set");
    v.field("repaired_dir", repaired_dir, "the repaired shard set");
    v.field("clean_dir", clean_dir, "the clean shard set (\"\" = none)");
    v.field("run_dir", run_dir, "output directory");
    v.field("seeds", seeds, "trainings per set (pretrain seed + 0, 1, ...); metrics are their mean", 1, 1000);
  }
};

// (repaired − raw) / (clean − raw); NaN when the denominator is 0.
double recovered_share(double raw, double repaired, double clean);

// Collective (all ranks). Returns evaluate.json's content.
nlohmann::json run_evaluate(EvaluateConfig& cfg, DataParallelGroup& group);

}  // namespace seqmend
