// Settings of `seqmend pretrain`: data-parallel masked-item (cloze) pretraining of the BERT4Rec
// encoder. Every field is listed once in visit() (io/config.h): YAML, overrides, --help and the
// run directory's config.yaml all come from there.
#pragma once

#include <cstdint>
#include <string>

#include "core/adamw_optimizer.h"
#include "core/model_config.h"
#include "experiments/train/canaries.h"
#include "experiments/run/checkpoint.h"
#include "experiments/eval/rec_eval.h"

namespace seqmend {

class ConfigVisitor;

// Fault injection for the failure tests: makes one rank misbehave at one step.
struct PretrainDebugConfig {
  int64_t nan_grad_step = -1;  // this step's gradient on nan_rank gets a NaN before the all-reduce
  int64_t throw_step = -1;     // this step throws on throw_rank (a rank that dies mid-run)
  int64_t nan_rank = 0;
  int64_t throw_rank = 0;

  void visit(ConfigVisitor& v);
};

struct PretrainConfig {
  std::string data_dir;  // shard set (manifest.json + train/valid/test shards)
  std::string run_dir;   // config.yaml, run.json, metrics.jsonl, results.json
  ModelConfig model;     // model.num_items = 0: V from the data
  OptimizerConfig optim; // optim.total_steps = 0: the run's step count

  int64_t global_batch_size = 256;  // sequences per optimizer step, summed over ranks
  int64_t grad_accum_steps = 1;     // micro-batches per step (bounds activation memory)
  int64_t max_steps = 0;            // 0: epochs decides
  int64_t epochs = 0;               // 0: max_steps decides; both set: whichever ends first
  double mask_prob = 0.2;           // cloze masking rate
  // Share of training samples whose only target is their newest event (the next-item task
  // evaluation asks for); 0 = plain BERT4Rec cloze.
  double last_item_prob = 0.0;
  // Share of samples cut to a random prefix (>= 2 events) per step: with right-aligned positions,
  // the augmentation RecBole's prefix expansion gives sequential models. 0 = whole sequences.
  double crop_prob = 0.0;

  int64_t eval_every = 0;              // steps between validation runs; 0: once per epoch
  std::string eval_metric = "ndcg@10"; // early stopping and best-model selection
  int64_t patience = 0;                // evaluations without improvement before stopping; 0: never
  EvalConfig eval;                     // protocol (eval.split is ignored: valid, then test)
  bool eval_test = true;               // test split with the best parameters at the end

  // Where the model trains: cpu (OpenBLAS + OpenMP, gradients over MPI) or cuda (one GPU per
  // node-local rank, gradients over NCCL, everything else over MPI).
  std::string device = "cpu";
  int64_t threads = 0;     // OpenMP threads per rank; 0: SEQMEND_THREADS or the runtime default
  uint64_t seed = 1;       // data order, masking and dropout (model.seed initialises parameters)
  int64_t log_every = 10;  // steps between progress lines and metrics.jsonl records
  double bucket_mb = 4.0;  // all-reduce bucket size
  // Decoded train shards a rank holds at once (experiments/train/data_parallel_loader.h); 0 = the whole
  // split. A budget also windows the epoch's shuffle (another order than the default's).
  double data_cache_mb = 0.0;

  // Continue from the newest checkpoint in run_dir (none there: start at step 0); `--resume`.
  bool resume = false;
  // Without resume, a run_dir holding another run is refused unless overwrite (claim_run_dir).
  bool overwrite = false;
  CheckpointConfig checkpoint;  // experiments/run/checkpoint.h

  PretrainDebugConfig debug;
  CanaryConfig canaries;  // experiments/train/canaries.h

  void visit(ConfigVisitor& v);
  // Throws seqmend::Error naming the key when settings contradict each other.
  void validate() const;
};

}  // namespace seqmend
