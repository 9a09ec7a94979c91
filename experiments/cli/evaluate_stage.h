// `seqmend evaluate`: does repairing the data help the recommender? Trains the recommender with the
// same pretrain config and budget on the raw (corrupted) shard set, on the repaired one and, when
// given, on the clean one (the ceiling), each through the trainer's public API (experiments/
// trainer.h), and evaluates every model on the same test targets: the clean set's test split when
// there is one, else the raw set's. Model selection (early stopping) uses each set's own valid split.
// The histories the test targets are predicted from are, by default, each training set's own (the
// raw model is served raw histories, the repaired model repaired ones), for the clean set's users.
//
// Output (run_dir): raw/, repaired/, clean/ (a pretrain run directory each: config.yaml,
// metrics.jsonl, results.json; with seeds > 1 one per seed, <set>/seed-<k>/), served-test-<set>/ (the
// test histories served to that set's model, test_inputs = own) and evaluate.json: per
// set the test metrics (hr@K, ndcg@K, ...; the mean over seeds, each seed's under `runs`), and
// recovered_share per metric = (repaired − raw) / (clean − raw) (null without clean or when
// clean == raw), and recovered_share_by_seed: the same from each seed's three runs.
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
  // The test histories each model is served: `own` = its training set's (raw for raw, repaired for
  // repaired: what a platform trained and serving on that log sees), `clean` = the clean set's for
  // all. Targets are the clean set's either way (checked), and the users are the clean set's.
  std::string test_inputs = "own";

  void visit(ConfigVisitor& v) {
    v.field("pretrain_config", pretrain_config,
            "pretrain config file: model, optimizer, budget, seed, eval (in `seqmend run`: \"\" = the pretrain section's)");
    v.field("raw_dir", raw_dir, "the raw (corrupted) shard set");
    v.field("repaired_dir", repaired_dir, "the repaired shard set");
    v.field("clean_dir", clean_dir, "the clean shard set (\"\" = none)");
    v.field("run_dir", run_dir, "output directory");
    v.field("seeds", seeds, "trainings per set (pretrain seed + 0, 1, ...); metrics are their mean", 1, 1000);
    v.choice("test_inputs", test_inputs, {"own", "clean"},
             "test histories: each training set's own (served as trained) or the clean set's; targets are clean");
  }
};

// (repaired − raw) / (clean − raw); NaN when the denominator is 0.
double recovered_share(double raw, double repaired, double clean);

// Collective (all ranks). Returns evaluate.json's content, or {"stopped": true, "steps", "in"} when a
// stop signal ended a training (checkpointed; nothing else written). `resume`: keep what run_dir
// holds of the same config: finished trainings are read back (results.json, ranks.csv), a stopped
// one resumes from its checkpoint; otherwise run_dir's trainings start afresh.
nlohmann::json run_evaluate(EvaluateConfig& cfg, DataParallelGroup& group, bool resume = false);

}  // namespace seqmend
