// What the training loop (experiments/train/trainer.h) trains: one optimizer step of some objective.
//
// The loop owns everything around a step — stop-signal agreement, the step-boundary hook where
// checkpoints go, progress lines and metrics.jsonl, optional evaluation with early stopping, the
// finish hook — and the objective owns the model, its data, its optimizer(s) and the step itself.
// Objectives: the masked-item (cloze or causal) encoder of `seqmend pretrain`
// (experiments/train/masked_item_objective.h) and the anomaly detector of `seqmend finetune`
// (experiments/detect/detector_objective.h).
//
// A step must be a pure function of (parameters, optimizer moments, step): that is what lets a
// checkpoint of checkpoint_buffer() and the step resume bit for bit.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace seqmend {

class ItemTransformer;
class ParamBuffer;
struct TrainingState;

struct StepReport {
  double loss = 0.0;       // the objective's loss over the global batch
  double loss_parts[3] = {0.0, 0.0, 0.0};  // its named parts, if any (detector: event, gap, sequence)
  double grad_norm = 0.0;  // global norm before clipping
  double lr = 0.0;
  int64_t tokens = 0;      // global
  int64_t targets = 0;     // global
  int64_t samples = 0;     // sequences this rank trained on
  double token_balance = 1.0;  // max over ranks / mean of the tokens dealt (1 = even)
  double seconds = 0.0;
  double comm_seconds = 0.0;  // inside communication calls (counts, bucket starts, polls, waits)
  double wait_seconds = 0.0;  // blocked in GradBucketer::finish
};

// Sums of the StepReports between two progress lines.
struct StepWindow {
  int64_t steps = 0;
  double seconds = 0.0, comm_seconds = 0.0, wait_seconds = 0.0;
  int64_t tokens = 0, samples = 0;
  double balance = 0.0, balance_max = 0.0;
  double loss = 0.0;
  double loss_parts[3] = {0.0, 0.0, 0.0};

  void add(const StepReport& r);
};

// "1h05m", "3m07s": the progress lines' durations.
std::string format_duration(double seconds);

class TrainObjective {
 public:
  virtual ~TrainObjective() = default;

  // Prefix of the loop's messages ("pretrain", "finetune").
  virtual std::string stage() const = 0;
  virtual int64_t total_steps() const = 0;
  virtual int64_t batches_per_epoch() const = 0;
  // rank 0's start-up line.
  virtual std::string describe() const = 0;
  // Collective start-up agreement (config hash, parameter checksum, world size).
  virtual void check_fingerprint() = 0;
  // One optimizer step on global batch `step`, collectively: gradients averaged over the ranks, a
  // non-finite loss or gradient on any rank an error on every rank (check_all), then clip and AdamW.
  virtual StepReport step(int64_t step) = 0;
  // The progress line (rank 0 prints it) and the metrics.jsonl record of window `w`, which ends
  // after step `s` (1-based); `last` is that step's report.
  virtual void log(const StepWindow& w, const StepReport& last, int64_t s, nlohmann::json& record,
                   std::string& line) const = 0;
  // The recommender that next-item evaluation scores; null: the loop evaluates nothing.
  virtual ItemTransformer* evaluated_model() { return nullptr; }

  // ---- checkpoints (experiments/train/train_checkpoint.h) ----
  // Parameters and AdamW moments in one flat buffer, up to date when this returns.
  virtual ParamBuffer& checkpoint_buffer() = 0;
  // checkpoint_buffer() was just read from a checkpoint: take it.
  virtual void checkpoint_restored() {}
  virtual std::string model_yaml() const = 0;   // a resume with another model shape is an error
  // A checkpoint's stored model_yaml as model_yaml() writes the same model today (older checkpoints:
  // retired keys, other docs); text it cannot read comes back as it is (and so differs).
  virtual std::string model_yaml_now(const std::string& stored) const = 0;
  virtual std::string config_yaml() const = 0;  // informational
  // Counters that, with the step, fix the data stream (seed, global batch, sample count...); a
  // resume whose values differ is refused naming the key.
  virtual void put_data_position(TrainingState& st) const = 0;
  // The objective's own state beyond the buffer, if any, into a checkpoint and back.
  virtual void put_state(TrainingState& st) const {}
  virtual void apply_state(const TrainingState& st) {}
  // Which training data (a resume on other data is refused).
  virtual uint64_t data_fingerprint() const = 0;
  // Where the data lives, for that refusal's message.
  virtual std::string data_dir() const = 0;
};

}  // namespace seqmend
