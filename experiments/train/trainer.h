// Data-parallel masked-item pretraining: the loop behind `seqmend pretrain`.
//
// One optimizer step = one global batch (DataParallelLoader): each rank builds cloze batches of the
// samples it stores, the target count of the whole global batch is all-reduced first, each rank's
// loss and gradients are divided by that count, gradient buckets start all-reducing during the
// last micro-batch's backward (Bert4Rec's grad-ready hook → GradBucketer), then clip, LR schedule,
// AdamW. Masking and dropout are keyed by (seed, step, sample id), so the losses do not depend on
// the number of ranks.
//
// Everything a run is made of sits in two places, which is what a checkpoint saves and restores:
//   - the model's ParamBuffer: parameters and AdamW moments (optimizer().step() reads nothing else);
//   - TrainState: the step counter (the data position, masks and dropout are functions of it) and
//     the early-stopping record.
// run() calls the step-boundary hook before every step, after the stop-signal agreement.
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
#include "io/shard_set.h"

namespace seqmend {

class RunDir;

struct TrainState {
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
};

struct StepReport {
  double loss = 0.0;       // sum of CE over the global batch's targets / global target count
  double grad_norm = 0.0;  // global norm before clipping
  double lr = 0.0;
  int64_t tokens = 0;      // global
  int64_t targets = 0;     // global
  double token_balance = 1.0;  // max over ranks / mean of the tokens dealt (1 = even)
  double seconds = 0.0;
  double comm_seconds = 0.0;  // inside communication calls (counts, bucket starts, polls, waits)
  double wait_seconds = 0.0;  // blocked in GradBucketer::finish
};

// Evaluates `model` on a split (next-item: the last event of each stored sequence is the target),
// collectively over all ranks. Returns an object with at least `<metric>@K` values, `protocol` and
// `num_users` (experiments/eval/rec_eval.h, make_split_evaluator: the default).
using SplitEvaluator = std::function<nlohmann::json(Bert4Rec& model, const std::string& split)>;

class Trainer {
 public:
  Trainer(const PretrainConfig& cfg, DataParallelGroup& group, RunDir* run = nullptr);
  ~Trainer();

  void set_evaluator(SplitEvaluator ev) { evaluate_ = std::move(ev); }
  // Called at every step boundary of run(), before the step: checkpoints go here.
  void set_step_boundary_hook(std::function<void(Trainer&)> hook) { boundary_ = std::move(hook); }
  // Called on every rank after the last step and evaluation, before results.json is written: the
  // final checkpoint goes here, so results.json never claims a step that was not saved.
  void set_finish_hook(std::function<void(Trainer&)> hook) { finish_ = std::move(hook); }

  // Collective start-up agreement (config hash, parameter count and checksum, world size).
  void check_fingerprint();
  // One optimizer step on global batch state().step; advances the step.
  StepReport train_step();
  // The whole run: fingerprint, steps with logging, evaluation, early stopping, test with the best
  // parameters, results.json. Returns the results object ("stopped": true when a stop signal ended
  // it early, without the test evaluation).
  nlohmann::json run();
  // Puts the parameters that scored best on valid into the model (after run(): the ones it tested);
  // nothing before the first evaluation.
  void load_best_params();

  const PretrainConfig& config() const { return cfg_; }
  Bert4Rec& model() { return *model_; }
  AdamWOptimizer& optimizer() { return *opt_; }
  TrainState& state() { return state_; }
  DataParallelLoader& loader() { return *loader_; }
  const ShardSet& data() const { return set_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t eval_every() const { return eval_every_; }
  uint64_t config_hash() const { return config_hash_; }

 private:
  nlohmann::json evaluate(const std::string& split);
  void mark_ready_from(size_t first_entry);  // grad-ready hook → bucketer

  PretrainConfig cfg_;
  DataParallelGroup& comm_;   // counts, losses, evaluation, agreement: host buffers
  std::unique_ptr<DataParallelGroup> gpu_group_;  // device: cuda — the same ranks over NCCL
  DataParallelGroup* grads_;  // the gradient all-reduce: comm_, or gpu_group_ on GPUs
  Device dev_ = Device::CPU;
  RunDir* run_;
  ShardSet set_;
  std::unique_ptr<DataParallelLoader> loader_;
  std::unique_ptr<Bert4Rec> model_;
  std::unique_ptr<AdamWOptimizer> opt_;
  SplitEvaluator evaluate_;
  std::function<void(Trainer&)> boundary_;
  std::function<void(Trainer&)> finish_;
  TrainState state_;
  int64_t total_steps_ = 0, eval_every_ = 0;
  uint64_t config_hash_ = 0;
  size_t marked_from_ = 0;  // gradient elements [marked_from_, P) are marked ready this step
  bool inject_nan_ = false;
  bool local_finite_ = true;  // this rank's gradient so far this step  // debug.nan_grad_step on this rank, this step
};

}  // namespace seqmend
