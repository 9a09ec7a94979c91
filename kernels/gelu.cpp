#include "kernels/gelu.h"

#include "core/base/error.h"
#include "kernels/dispatch.h"
#include "kernels/fast_exp.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

// gelu(x) = ½·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³).
// With ½(1 + tanh u) = σ(2u) this is x·σ(2u), one exp and one division, both vectorised; for
// large |u| σ saturates to exactly 0 or 1 as tanh does.
namespace {
constexpr float kS = 0.7978845608028654f;  // √(2/π)
constexpr float kA = 0.044715f;
}  // namespace

namespace {
inline void store(float* out, float v) { *out = v; }
inline void store(bf16* out, float v) { *out = to_bf16(v); }

// The forward on the CPU, its result stored as T (bf16: rounded once).
template <typename T>
void gelu_forward_cpu(T* out, const float* inp, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) {
    const float x = inp[i];
    const float u = kS * (x + kA * x * x * x);
    store(out + i, x / (1.0f + fast_exp(-2.0f * u)));
  }
}
}  // namespace

void gelu_forward(Device dev, float* out, const float* inp, int64_t n) {
  SEQ_CHECK(n >= 0, "gelu_forward: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(gelu_forward, out, inp, n);
  gelu_forward_cpu(out, inp, n);
}

void gelu_forward(Device dev, bf16* out, const float* inp, int64_t n) {
  SEQ_CHECK(n >= 0, "gelu_forward: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(gelu_forward, out, inp, n);
  gelu_forward_cpu(out, inp, n);
}

void gelu_backward(Device dev, float* dinp, const float* inp, const float* dout, int64_t n) {
  SEQ_CHECK(n >= 0, "gelu_backward: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(gelu_backward, dinp, inp, dout, n);
  // With s = σ(2u): gelu' = s + x · 2s(1 − s) · u',  u' = √(2/π)·(1 + 3·0.044715·x²).
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) {
    const float x = inp[i];
    const float x2 = x * x;
    const float u = kS * (x + kA * x2 * x);
    const float s = 1.0f / (1.0f + fast_exp(-2.0f * u));
    const float du = kS * (1.0f + 3.0f * kA * x2);
    dinp[i] += (s + 2.0f * x * s * (1.0f - s) * du) * dout[i];
  }
}

}  // namespace seqmend
