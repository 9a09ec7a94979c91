#include "experiments/detect/finetune_config.h"

#include "core/base/error.h"
#include "io/config.h"

namespace seqmend {

void FinetuneConfig::visit(ConfigVisitor& v) {
  v.field("data_dir", data_dir, "shard set: train split for training, valid split for calibration");
  v.field("run_dir", run_dir, "run directory (config.yaml, run.json, metrics.jsonl, detector.h5, results.json)");
  v.field("encoder_checkpoint", encoder_checkpoint,
          "pretraining checkpoint file or pretrain run directory (\"\": random encoder from `model`)");
  v.field("encoder_best", encoder_best, "use the checkpoint's best-validation parameters when stored");
  v.section("model", model, "encoder shape, only without encoder_checkpoint (num_items 0: from the data)");
  v.section("detector", detector, "heads, focal loss and loss weights");
  v.section("optim", optim, "AdamW, clipping and LR schedule (total_steps 0: the run's steps)");
  v.choice("labels", labels, {"auto", "inject", "stored"},
           "auto: stored labels if the train split has anomaly labels, else inject on the fly");
  v.section("inject", inject, "on-the-fly corruption of the training sequences (io/injectors.h)");
  v.field("simulator_config", simulator_config,
          "simulate config.yaml whose item clusters guide noise clicks (\"\": real-data mode)");
  v.field("global_batch_size", global_batch_size, "sequences per optimizer step over all ranks", 1);
  v.field("max_steps", max_steps, "optimizer steps (0: epochs decides)", 0);
  v.field("epochs", epochs, "passes over the train split (0: max_steps decides)", 0);
  v.field("device", device, "cpu | cuda: where the detector trains (cuda: one GPU per node-local rank, NCCL)");
  v.field("threads", threads, "OpenMP threads per rank (0: SEQMEND_THREADS or default)", 0, 4096);
  v.field("seed", seed, "data order, corruption and dropout seed");
  v.field("log_every", log_every, "steps between progress lines and metrics records", 1);
  v.field("bucket_mb", bucket_mb, "gradient all-reduce bucket size in MB", 0.001, 4096.0);
  v.field("resume", resume, "continue from the newest checkpoint in run_dir (none: start at step 0)");
  v.field("overwrite", overwrite,
          "without resume: start afresh in a run_dir that holds another run, removing its checkpoints and logs");
  v.section("checkpoint", checkpoint, "checkpoint files in run_dir (experiments/run/checkpoint.h)");
  v.section("debug", debug, "fault injection for the failure tests");
  v.field("valid_split", valid_split, "split the thresholds are calibrated on (on canaries: the train split, which holds them)");
  v.field("valid_seed", valid_seed, "fixed corruption seed of the calibration data");
  v.field("valid_max_sequences", valid_max_sequences, "calibration sequences (0: all)", 0);
  v.section("thresholds", thresholds, "threshold calibration per head (experiments/detect/thresholds.h)");
  v.field("fuse_surprisal", fuse_surprisal,
          "combine the event and gap heads with the pretrained encoder's surprisal (fitted on the calibration data)");
  v.field("calibrate_on_canaries", calibrate_on_canaries,
          "calibrate on the encoder's pretraining canaries (when it has them) instead of fresh injections");
  v.field("drop_top_negatives", drop_top_negatives,
          "share of each step's negatives with the highest score left out of the loss (a log noisy before injection)",
          0.0, 0.9);
  v.field("fuse_cooccurrence", fuse_cooccurrence,
          "with fuse_surprisal: also fuse how well each item co-occurs with its user's other items in the log");
  v.field("fuse_time", fuse_time,
          "with fuse_surprisal: also fuse each event's timing (gaps to its neighbours, against the user's usual gap)");
  v.field("surprisal_passes", surprisal_passes, "interleaved masking passes for the surprisal", 1, 1024);
}

void FinetuneConfig::validate() const {
  SEQ_CHECK(device == "cpu" || device == "cuda", "finetune: device `", device, "` is not cpu or cuda");
  SEQ_CHECK(!data_dir.empty(), "finetune: data_dir is required. HINT: seqmend finetune data_dir=DIR run_dir=RUN");
  SEQ_CHECK(!run_dir.empty(), "finetune: run_dir is required. HINT: seqmend finetune data_dir=DIR run_dir=RUN");
  SEQ_CHECK(max_steps > 0 || epochs > 0, "finetune: set max_steps or epochs (both are 0)");
  SEQ_CHECK(inject.burst_min <= inject.burst_max, "finetune: inject.burst_min ", inject.burst_min,
            " exceeds inject.burst_max ", inject.burst_max);
}

}  // namespace seqmend
