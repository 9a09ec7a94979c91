// One cloze (masked-item) training step: zero gradients → forward (loss + fused output-layer
// gradient) → backward → clip → AdamW. The dropout seed is derived from (run seed, step), so a
// resumed run repeats the same masks.
#pragma once

#include <cstdint>

#include "core/adamw_optimizer.h"
#include "core/batch.h"
#include "core/model.h"

namespace seqmend {

// One process's step on its own batch (tests, benchmarks). The training loop's step over all ranks
// reports a StepReport (experiments/train/train_objective.h).
struct ClozeStepResult {
  double loss = 0.0;
  double grad_norm = 0.0;
  double lr = 0.0;
  int64_t tokens = 0;   // N
  int64_t targets = 0;  // M
};

// dropout_seed of step s: hash_combine(run_seed, s).
uint64_t step_dropout_seed(uint64_t run_seed, int64_t step);

ClozeStepResult train_step(ItemTransformer& model, AdamWOptimizer& opt, const Batch& batch, int64_t step,
                           uint64_t run_seed);

}  // namespace seqmend
