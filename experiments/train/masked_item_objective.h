// The pretraining objective: masked-item (cloze) or, for a causal encoder, next-item prediction
// over every position, data-parallel (experiments/train/train_objective.h).
//
// One step = one global batch (DataParallelLoader): each rank builds cloze batches of the samples
// it stores, the target count of the whole global batch is all-reduced first, each rank's loss and
// gradients are divided by that count, gradient buckets start all-reducing during the last
// micro-batch's backward (ItemTransformer's grad-ready hook → GradBucketer), then clip, LR schedule,
// AdamW. Masking and dropout are keyed by (seed, step, sample id), so the losses do not depend on
// the number of ranks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/adamw_optimizer.h"
#include "core/model.h"
#include "experiments/run/dp_group.h"
#include "experiments/train/data_parallel_loader.h"
#include "experiments/train/pretrain_config.h"
#include "experiments/train/train_objective.h"
#include "io/shard_set.h"

namespace seqmend {

class MaskedItemObjective : public TrainObjective {
 public:
  MaskedItemObjective(const PretrainConfig& cfg, DataParallelGroup& group);
  ~MaskedItemObjective() override;

  std::string stage() const override { return "pretrain"; }
  int64_t total_steps() const override { return total_steps_; }
  int64_t batches_per_epoch() const override { return loader_->batches_per_epoch(); }
  std::string describe() const override;
  void check_fingerprint() override;
  StepReport step(int64_t step) override;
  void log(const StepWindow& w, const StepReport& last, int64_t s, nlohmann::json& record,
           std::string& line) const override;
  ItemTransformer* evaluated_model() override { return model_.get(); }

  ParamBuffer& checkpoint_buffer() override { return model_->params(); }
  std::string model_yaml() const override;
  std::string model_yaml_now(const std::string& stored) const override;
  std::string config_yaml() const override;
  void put_data_position(TrainingState& st) const override;
  uint64_t data_fingerprint() const override;
  std::string data_dir() const override { return cfg_.data_dir; }

  const PretrainConfig& config() const { return cfg_; }
  ItemTransformer& model() { return *model_; }
  AdamWOptimizer& optimizer() { return *opt_; }
  DataParallelLoader& loader() { return *loader_; }
  const ShardSet& data() const { return set_; }
  Device device() const { return dev_; }
  uint64_t config_hash() const { return config_hash_; }

 private:
  void mark_ready_from(size_t first_entry);  // grad-ready hook → bucketer

  PretrainConfig cfg_;
  DataParallelGroup& comm_;   // counts, losses, agreement: host buffers
  std::unique_ptr<DataParallelGroup> gpu_group_;  // device: cuda — the same ranks over NCCL
  DataParallelGroup* grads_;  // the gradient all-reduce: comm_, or gpu_group_ on GPUs
  Device dev_ = Device::CPU;
  ShardSet set_;
  std::unique_ptr<DataParallelLoader> loader_;
  std::unique_ptr<ItemTransformer> model_;
  std::unique_ptr<AdamWOptimizer> opt_;
  int64_t total_steps_ = 0;
  uint64_t config_hash_ = 0;
  size_t marked_from_ = 0;  // gradient elements [marked_from_, P) are marked ready this step
  bool inject_nan_ = false;    // debug.nan_grad_step on this rank, this step
  bool local_finite_ = true;   // this rank's gradient so far this step
};

}  // namespace seqmend
