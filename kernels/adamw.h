#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

struct AdamWArgs {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;   // decoupled: param −= lr · wd · param
  int64_t step = 1;            // 1-based, for bias correction
};

// PyTorch torch.optim.AdamW semantics, in place on param (n), m (n), v (n).
void adamw_update(Device dev, float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWArgs& a);

}  // namespace seqmend
