#include "kernels/adamw.h"

#include <cmath>

#include "core/base/error.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

// torch.optim.AdamW (single-tensor path, as in the PyTorch the twin runs), step by step:
//   param *= 1 − lr·wd
//   m      = β1·m + (1 − β1)·g
//   v      = β2·v + (1 − β2)·g²
//   denom  = √v / √(1 − β2^t) + eps
//   param −= (lr / (1 − β1^t)) · m / denom
// The bias corrections are scalars computed in double, as Python does, then used in f32.
void adamw_update(Device dev, float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWArgs& a) {
  SEQ_CHECK(n >= 0, "adamw_update: bad size n=", n);
  SEQ_CHECK(a.step >= 1, "adamw_update: step must be 1-based, got ", a.step);
  SEQ_CHECK(a.beta1 >= 0.0 && a.beta1 < 1.0 && a.beta2 >= 0.0 && a.beta2 < 1.0,
            "adamw_update: betas must lie in [0, 1), got beta1=", a.beta1, " beta2=", a.beta2);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(adamw_update, param, grad, m, v, n, a);
  const double bc1 = 1.0 - std::pow(a.beta1, double(a.step));
  const double bc2 = 1.0 - std::pow(a.beta2, double(a.step));
  const float step_size = float(a.lr / bc1);
  const float bc2_sqrt = float(std::sqrt(bc2));
  const float decay = float(1.0 - a.lr * a.weight_decay);
  const float b1 = float(a.beta1), w1 = float(1.0 - a.beta1);
  const float b2 = float(a.beta2), w2 = float(1.0 - a.beta2);
  const float eps = float(a.eps);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float mi = b1 * m[i] + w1 * g;
    const float vi = b2 * v[i] + w2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / bc2_sqrt + eps;
    param[i] = param[i] * decay - step_size * (mi / denom);
  }
}

}  // namespace seqmend
