#include "experiments/train/pretrain_config.h"

#include "core/base/error.h"
#include "io/config.h"

namespace seqmend {

void PretrainDebugConfig::visit(ConfigVisitor& v) {
  v.field("nan_grad_step", nan_grad_step, "inject a NaN gradient on nan_rank at this step (-1: never)", -1);
  v.field("nan_rank", nan_rank, "rank that gets the NaN gradient", 0);
  v.field("throw_step", throw_step, "throw on throw_rank at this step (-1: never)", -1);
  v.field("throw_rank", throw_rank, "rank that throws", 0);
}

void PretrainConfig::visit(ConfigVisitor& v) {
  v.field("data_dir", data_dir, "shard set with train/valid/test splits");
  v.field("run_dir", run_dir, "run directory (config.yaml, run.json, metrics.jsonl, results.json)");
  v.section("model", model, "BERT4Rec shape and dropout (num_items 0: from the data)");
  v.section("optim", optim, "AdamW, clipping and LR schedule (total_steps 0: the run's steps)");
  v.field("global_batch_size", global_batch_size, "sequences per optimizer step over all ranks", 1);
  v.field("grad_accum_steps", grad_accum_steps, "micro-batches per optimizer step", 1);
  v.field("max_steps", max_steps, "optimizer steps (0: epochs decides)", 0);
  v.field("epochs", epochs, "passes over the train split (0: max_steps decides)", 0);
  v.field("mask_prob", mask_prob, "cloze masking probability (model.objective causal: unused)", 0.0, 1.0);
  v.field("last_item_prob", last_item_prob,
          "share of samples whose only target is the newest event (next-item task)", 0.0, 1.0);
  v.field("crop_prob", crop_prob, "share of samples cut to a random prefix each step (augmentation)", 0.0, 1.0);
  v.field("eval_every", eval_every, "steps between validation runs (0: each epoch)", 0);
  v.field("eval_metric", eval_metric, "validation metric for early stopping and the best model (e.g. ndcg@10)");
  v.field("patience", patience, "evaluations without improvement before stopping (0: never)", 0);
  v.section("eval", eval, "evaluation protocol (experiments/eval/rec_eval.h); eval.split is ignored");
  v.field("eval_test", eval_test, "evaluate the test split with the best parameters at the end");
  v.field("device", device, "cpu | cuda: where the model trains (cuda: one GPU per node-local rank, NCCL)");
  v.field("threads", threads, "OpenMP threads per rank (0: SEQMEND_THREADS or default)", 0, 4096);
  v.field("seed", seed, "data order, masking and dropout seed");
  v.field("log_every", log_every, "steps between progress lines and metrics records", 1);
  v.field("bucket_mb", bucket_mb, "gradient all-reduce bucket size in MB", 0.001, 4096.0);
  v.field("data_cache_mb", data_cache_mb,
          "MB of decoded train shards a rank holds at once; 0 = the whole split (a budget windows the shuffle)",
          0.0, 1e9);
  v.field("resume", resume, "continue from the newest checkpoint in run_dir (none: start at step 0)");
  v.field("overwrite", overwrite,
          "without resume: start afresh in a run_dir that holds another run, removing its checkpoints and logs");
  v.section("checkpoint", checkpoint, "checkpoint files in run_dir (experiments/run/checkpoint.h)");
  v.section("debug", debug, "fault injection for tests");
  v.section("canaries", canaries, "known anomalies in the pretraining copy of the data, for calibrating the detector");
}

void PretrainConfig::validate() const {
  SEQ_CHECK(!data_dir.empty(), "pretrain: data_dir is required. HINT: seqmend pretrain data_dir=DIR run_dir=RUN");
  SEQ_CHECK(!run_dir.empty(), "pretrain: run_dir is required. HINT: seqmend pretrain data_dir=DIR run_dir=RUN");
  SEQ_CHECK(max_steps > 0 || epochs > 0, "pretrain: set max_steps or epochs (both are 0)");
  SEQ_CHECK(grad_accum_steps <= global_batch_size, "pretrain: grad_accum_steps ", grad_accum_steps,
            " exceeds global_batch_size ", global_batch_size);
  eval.validate();
  SEQ_CHECK(!(model.causal() && last_item_prob > 0.0), "pretrain: last_item_prob ", last_item_prob,
            " needs the cloze objective; with model.objective causal every event is already a next-item target");
  SEQ_CHECK(device == "cpu" || device == "cuda", "pretrain: device `", device, "` is not cpu or cuda");
  SEQ_CHECK(eval_metric.find('@') != std::string::npos || eval_metric == "mrr",
            "pretrain: eval_metric `", eval_metric, "` is not of the form hr@K, ndcg@K or mrr");
}

}  // namespace seqmend
