// The training loop behind `seqmend pretrain` and `seqmend finetune`: one loop for every objective
// (experiments/train/train_objective.h) — the masked-item encoder (built from a PretrainConfig) and
// the anomaly detector (experiments/detect/detector_objective.h).
//
// run() is, per step: the stop-signal agreement (SIGUSR1/SIGTERM on any rank stops every rank at
// the same boundary), the step-boundary hook (checkpoints), the objective's step, progress lines
// and metrics.jsonl every log_every steps; with an evaluator and an objective that has an
// evaluated model, next-item evaluation every eval_every steps with early stopping on
// `eval_metric`, and the test split with the best parameters at the end.
//
// Everything a run is made of sits in two places, which is what a checkpoint saves and restores:
//   - the objective's checkpoint_buffer(): parameters and AdamW moments;
//   - LoopProgress: the step counter (the data position, masks, injections and dropout are functions
//     of it) and the early-stopping record. A checkpoint file holds it as a TrainingState
//     (experiments/run/checkpoint.h; the translation is experiments/train/train_checkpoint.h).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/adamw_optimizer.h"
#include "core/model.h"
#include "experiments/run/dp_group.h"
#include "experiments/train/data_parallel_loader.h"
#include "experiments/train/pretrain_config.h"
#include "experiments/train/train_objective.h"
#include "io/shard_set.h"

namespace seqmend {

class MaskedItemObjective;
class RunDir;

// Where the loop is, in memory (Trainer::progress()).
struct LoopProgress {
  int64_t step = 0;  // optimizer steps done; epoch = step / batches_per_epoch
  int64_t evals = 0;
  double best_metric = -std::numeric_limits<double>::infinity();
  int64_t best_step = -1;
  int64_t evals_since_best = 0;  // early stopping counter
  nlohmann::json best_valid;     // metrics of the best evaluation
  std::vector<float> best_params;  // (P) parameters at best_step
  double train_seconds = 0.0;    // inside train steps
  double comm_seconds = 0.0;     // of those, inside communication
  double wait_seconds = 0.0;     // of those, blocked on the gradient all-reduce
  int64_t tokens = 0;            // global tokens trained on
  // The steps since the last progress line: a run resumed between two lines logs the same averages.
  StepWindow window;
};

// Evaluates `model` on a split (next-item: the last event of each stored sequence is the target),
// collectively over all ranks. Returns an object with at least `<metric>@K` values, `protocol` and
// `num_users` (experiments/eval/rec_eval.h, make_split_evaluator: the default).
using SplitEvaluator = std::function<nlohmann::json(ItemTransformer& model, const std::string& split)>;

// What the loop does besides training steps.
struct LoopConfig {
  int64_t log_every = 10;  // steps between progress lines and metrics.jsonl records
  // Evaluation (only with an evaluated model and an evaluator): every eval_every steps (0: never),
  // early stopping after `patience` evaluations without improvement of eval_metric (0: never),
  // the test split with the best parameters at the end when eval_test.
  int64_t eval_every = 0;
  int64_t patience = 0;
  std::string eval_metric = "ndcg@10";
  bool eval_test = false;
  bool write_results = true;  // results.json into the run directory (false: the caller writes it)
};

class Trainer {
 public:
  // Pretraining: the masked-item objective of `cfg`, evaluated on the data's valid/test splits.
  Trainer(const PretrainConfig& cfg, DataParallelGroup& group, RunDir* run = nullptr);
  // Any other objective (not owned).
  Trainer(TrainObjective& objective, const LoopConfig& loop, DataParallelGroup& group, RunDir* run = nullptr);
  ~Trainer();

  void set_evaluator(SplitEvaluator ev) { evaluate_ = std::move(ev); }
  // Called at every step boundary of run(), before the step: checkpoints go here.
  void set_step_boundary_hook(std::function<void(Trainer&)> hook) { boundary_ = std::move(hook); }
  // Called on every rank after the last step and evaluation, before results.json is written: the
  // final checkpoint goes here, so results.json never claims a step that was not saved.
  void set_finish_hook(std::function<void(Trainer&)> hook) { finish_ = std::move(hook); }

  // Collective start-up agreement (config hash, parameter count and checksum, world size).
  void check_fingerprint() { obj_->check_fingerprint(); }
  // One optimizer step on global batch progress().step; advances the step.
  StepReport train_step();
  // The whole run: fingerprint, steps with logging, evaluation, early stopping, test with the best
  // parameters, results.json. Returns the results object ("stopped": true when a stop signal ended
  // it early, without the test evaluation).
  nlohmann::json run();
  // Puts the parameters that scored best on valid into the model (after run(): the ones it tested);
  // nothing before the first evaluation.
  void load_best_params();

  TrainObjective& objective() { return *obj_; }
  LoopProgress& progress() { return progress_; }
  int64_t total_steps() const { return obj_->total_steps(); }
  int64_t eval_every() const { return loop_.eval_every; }

  // Pretraining only (the PretrainConfig constructor): its config, model, optimizer and data.
  const PretrainConfig& config() const;
  ItemTransformer& model();
  AdamWOptimizer& optimizer();
  DataParallelLoader& loader();
  const ShardSet& data() const;
  uint64_t config_hash() const;

 private:
  nlohmann::json evaluate(const std::string& split);
  // Parts of run(). The step boundary: every rank agrees whether a stop signal arrived anywhere;
  // the boundary hook (checkpoints) runs either way. True: leave the loop here.
  bool at_step_boundary();
  // The progress line and metrics.jsonl record of the steps since the last one.
  void log_progress(const StepReport& last);
  // Keeps the best evaluation (its parameters included) and the early-stopping count.
  void record_eval(const nlohmann::json& metrics);
  bool patience_ran_out();
  // After the last step: valid once more unless the loop just evaluated, the best evaluation, and
  // the test split with the best parameters.
  void finish_evaluation(int64_t last_eval_step, nlohmann::json& results);
  MaskedItemObjective& masked_item() const;

  std::unique_ptr<MaskedItemObjective> owned_;  // pretraining's objective
  TrainObjective* obj_;
  LoopConfig loop_;
  DataParallelGroup& comm_;
  RunDir* run_;
  SplitEvaluator evaluate_;
  std::function<void(Trainer&)> boundary_;
  std::function<void(Trainer&)> finish_;
  LoopProgress progress_;
};

}  // namespace seqmend
