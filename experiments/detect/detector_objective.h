// The fine-tuning objective of `seqmend finetune`: the anomaly detector (core/detector.h) trained in
// the training loop (experiments/train/trainer.h), so that fine-tuning has pretraining's
// checkpoints, resume, stop signals, NaN agreement, progress lines and metrics.jsonl.
//
// One step = one global batch of DataParallelLoader. Every rank builds the whole global batch and,
// unless stored labels are used, corrupts it with the injectors under seed
// hash_combine(seed, epoch, batch index) — the injection is a function of the batch (e.g.
// llround(bot_rate · batch) bots), so every rank count injects the same anomalies — then trains on
// the sequences dealt to it by tokens. Loss per head = focal-loss sum / that head's labelled count
// over the global batch (all-reduced first), so the rank gradients average to the global-batch
// mean; encoder and heads gradients are averaged in buckets, each buffer clipped and stepped by its
// own AdamW (heads first). Dropout is keyed by (seed, step) and a sequence id made of (step,
// position in the global batch), not of the rank.
//
// Rank-count independence: the batches, injections, dealt sequences' targets and dropout are the
// same on any number of ranks; the sums over ranks are not in the same order as one rank's sums,
// so parameters agree to rounding, not bit for bit. drop_top_negatives ranks each rank's own share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/adamw_optimizer.h"
#include "core/detector.h"
#include "core/param_buffer.h"
#include "experiments/detect/finetune_config.h"
#include "experiments/run/dp_group.h"
#include "experiments/train/data_parallel_loader.h"
#include "experiments/train/train_objective.h"
#include "io/injectors.h"
#include "io/shard_set.h"

namespace seqmend {

class DetectorObjective : public TrainObjective {
 public:
  // `det` starts from its loaded encoder; `loader` holds the whole train split (not cache mode);
  // `injector` corrupts each global batch, null: the stored labels are trained on. None is owned.
  // cfg.optim.total_steps = 0 is resolved to the run's steps (config()). A detector on the GPU has
  // its gradients averaged over `gpu_groups` (NCCL, one per buffer: encoder, heads), which must have
  // been made before the detector (they bind the rank's GPU); on the CPU `group` and one more MPI
  // group do it.
  DetectorObjective(const FinetuneConfig& cfg, Detector& det, DataParallelLoader& loader, const ShardSet& set,
                    const Injector* injector, DataParallelGroup& group, const std::string& encoder_file,
                    DataParallelGroup* gpu_encoder_group = nullptr, DataParallelGroup* gpu_head_group = nullptr);
  ~DetectorObjective() override;

  std::string stage() const override { return "finetune"; }
  int64_t total_steps() const override { return total_steps_; }
  int64_t batches_per_epoch() const override { return loader_.batches_per_epoch(); }
  std::string describe() const override;
  void check_fingerprint() override;
  StepReport step(int64_t step) override;
  void log(const StepWindow& w, const StepReport& last, int64_t s, nlohmann::json& record,
           std::string& line) const override;

  ParamBuffer& checkpoint_buffer() override;
  void checkpoint_restored() override;
  std::string model_yaml() const override;
  std::string model_yaml_now(const std::string& stored) const override;
  std::string config_yaml() const override;
  void put_data_position(TrainingState& st) const override;
  void put_state(TrainingState& st) const override;
  void apply_state(const TrainingState& st) override;
  uint64_t data_fingerprint() const override;
  std::string data_dir() const override { return cfg_.data_dir; }

  const FinetuneConfig& config() const { return cfg_; }  // resolved: optim.total_steps set
  const DetectorLoss& last_loss() const { return last_; }  // of the last step (kept in checkpoints)

 private:
  FinetuneConfig cfg_;
  Detector& det_;
  DataParallelLoader& loader_;
  const ShardSet& set_;
  const Injector* injector_;
  DataParallelGroup& group_;  // counts, losses, agreement
  DataParallelGroup* enc_grads_ = nullptr;   // the encoder's gradient all-reduce (multi-rank)
  DataParallelGroup* head_grads_ = nullptr;  // the heads'
  std::string encoder_file_;
  std::unique_ptr<AdamWOptimizer> enc_opt_;  // null with freeze_encoder
  std::unique_ptr<AdamWOptimizer> head_opt_;
  std::unique_ptr<DataParallelGroup> head_group_;  // on the CPU: the MPI group behind head_grads_
  ParamBuffer saved_;  // encoder and heads as one buffer (detector.h5's layout), for checkpoints
  int64_t total_steps_ = 0;
  DetectorLoss last_;
};

}  // namespace seqmend
