// Settings of `seqmend finetune`: the anomaly detector (core/detector.h) trained on top of a
// pretrained encoder with labels from the injectors applied on the fly (a fresh corruption every
// epoch and batch) or from the labels stored in the shard set. Every field is listed once in visit().
#pragma once

#include <cstdint>
#include <string>

#include "core/adamw_optimizer.h"
#include "core/detector.h"
#include "core/model_config.h"
#include "experiments/detect/thresholds.h"
#include "experiments/run/checkpoint.h"
#include "experiments/train/pretrain_config.h"
#include "io/injectors.h"

namespace seqmend {

class ConfigVisitor;

struct FinetuneConfig {
  std::string data_dir;  // shard set: train split to learn from, valid split to calibrate on
  std::string run_dir;   // config.yaml, run.json, metrics.jsonl, detector.h5, results.json
  // Pretraining checkpoint: a ckpt-*.h5 file or a pretrain run directory (its newest checkpoint).
  // The model shape comes from the config.yaml beside it. "" = encoder from random init (`model`).
  std::string encoder_checkpoint;
  bool encoder_best = true;  // take the checkpoint's best-validation parameters when it has them
  ModelConfig model;         // used only without encoder_checkpoint (num_items 0: from the data)
  DetectorConfig detector;
  OptimizerConfig optim;     // optim.total_steps = 0: the run's step count

  // auto: stored labels when the train split has anomaly labels, else inject; inject: always
  // corrupt on the fly (stored labels are dropped); stored: the shard set's labels only.
  std::string labels = "auto";
  InjectionConfig inject;
  // A `seqmend simulate` config.yaml: its simulator's item clusters make noise clicks leave the
  // user's interests, as in the simulated data. "" = real-data mode (items the user never touched).
  std::string simulator_config;

  int64_t global_batch_size = 64;
  int64_t max_steps = 0;  // 0: epochs decides
  int64_t epochs = 0;     // 0: max_steps decides
  std::string device = "cpu";  // cpu | cuda: the encoder, heads and focal losses (experiments/run/device_choice.h)
  int64_t threads = 0;
  uint64_t seed = 1;      // data order, corruption, dropout
  int64_t log_every = 10;
  double bucket_mb = 4.0;

  // Continue from the newest checkpoint in run_dir (none there: start at step 0); `--resume`.
  bool resume = false;
  // Without resume, a run_dir holding another run is refused unless overwrite (claim_run_dir).
  bool overwrite = false;
  CheckpointConfig checkpoint;  // experiments/run/checkpoint.h: every N steps, on a stop signal, at the end
  PretrainDebugConfig debug;    // the training loop's fault injection: a NaN or a throw on one rank at one step

  // Calibration after training: the valid split, corrupted with valid_seed (fixed) unless it has
  // stored labels and labels != inject; on canaries, the train split (calibrate_on_canaries).
  std::string valid_split = "valid";
  uint64_t valid_seed = 12345;
  int64_t valid_max_sequences = 0;  // 0: all
  ThresholdConfig thresholds;
  // Fuse the event and gap heads with the pretrained encoder's masked-item surprisal
  // (experiments/detect/score_fusion.h), fitted on the calibration data; needs encoder_checkpoint.
  bool fuse_surprisal = true;
  bool fuse_cooccurrence = true;  // with fuse_surprisal: the log's item co-occurrence joins the regression
  bool fuse_time = true;          // with fuse_surprisal: the timestamps' pattern joins it (experiments/detect/time_features.h)
  // Share of each step's negatives (event and gap heads) with the highest current score left out of
  // the loss: on a log that was noisy before the injection they hold its own anomalies (core/detector.h).
  double drop_top_negatives = 0.0;
  // With an encoder pretrained with canaries (experiments/train/canaries.h) and labels injected: calibrate
  // (fusion and thresholds) on the pretraining copy (the train split with those canaries) instead of
  // the valid split with fresh injections.
  bool calibrate_on_canaries = true;
  int64_t surprisal_passes = 4;  // interleaved masking passes (experiments/detect/surprisal.h)

  void visit(ConfigVisitor& v);
  void validate() const;
};

}  // namespace seqmend
