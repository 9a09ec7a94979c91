// Sigmoid focal loss (Lin et al. 2017) for binary heads:
//   p = σ(x), p_t = p if y = 1 else 1 − p, α_t = α if y = 1 else 1 − α (α < 0 disables weighting),
//   loss = −α_t (1 − p_t)^γ log p_t.
// Computed from log-sigmoids so any logit is stable, and written so γ = 0 and 0 < γ < 1 stay finite
// at p_t = 1 (where (1 − p_t)^(γ−1) would otherwise blow up).
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

struct FocalArgs {
  const float* logits = nullptr;   // (n)
  const float* targets = nullptr;  // (n) in {0, 1} (soft targets in [0, 1] also accepted)
  const float* weights = nullptr;  // (n) per-element weight, 0 masks an element out; null = all 1
  int64_t n = 0;
  float alpha = 0.25f;
  float gamma = 2.0f;
};

// Returns Σ weight · loss in double; with dlogits set, accumulates dlogits (n) += scale · ∂/∂x.
double sigmoid_focal_loss(Device dev, const FocalArgs& a, float* dlogits = nullptr,
                          float scale = 1.0f);

}  // namespace seqmend
