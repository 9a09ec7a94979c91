// CUDA twin of kernels/adamw.h: the scalars are formed on the host in double exactly as the CPU
// version does, so both backends apply the same f32 update.
#include <cmath>

#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;

struct AdamWScalars {
  float step_size, bc2_sqrt, decay, b1, w1, b2, w2, eps;
};

__global__ void adamw_kernel(float* param, const float* grad, float* m, float* v, long long n,
                             AdamWScalars k) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const float g = grad[i];
    const float mi = k.b1 * m[i] + k.w1 * g;
    const float vi = k.b2 * v[i] + k.w2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) / k.bc2_sqrt + k.eps;
    param[i] = param[i] * k.decay - k.step_size * (mi / denom);
  }
}

}  // namespace

void adamw_update_cuda(float* param, const float* grad, float* m, float* v, int64_t n,
                       const AdamWArgs& a) {
  cuda_require("adamw_update");
  if (n == 0) return;
  const double bc1 = 1.0 - std::pow(a.beta1, double(a.step));
  const double bc2 = 1.0 - std::pow(a.beta2, double(a.step));
  AdamWScalars k;
  k.step_size = float(a.lr / bc1);
  k.bc2_sqrt = float(std::sqrt(bc2));
  k.decay = float(1.0 - a.lr * a.weight_decay);
  k.b1 = float(a.beta1);
  k.w1 = float(1.0 - a.beta1);
  k.b2 = float(a.beta2);
  k.w2 = float(1.0 - a.beta2);
  k.eps = float(a.eps);
  adamw_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(param, grad, m, v, n, k);
  CUDA_CHECK_LAUNCH(adamw_kernel);
}

}  // namespace seqmend
