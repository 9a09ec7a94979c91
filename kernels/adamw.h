#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

// Hyper-parameters are doubles, like the Python floats torch.optim.AdamW receives: the scalars
// derived from them (1 − β2, lr / (1 − β1^t), ...) are formed in double and rounded to f32 once,
// as PyTorch does, so the update matches it to the last few ulps.
struct AdamWArgs {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled: param *= 1 − lr · wd, before the Adam step
  int64_t step = 1;           // 1-based, for bias correction
};

// PyTorch torch.optim.AdamW semantics, in place on param (n), m (n), v (n).
void adamw_update(Device dev, float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWArgs& a);

}  // namespace seqmend
