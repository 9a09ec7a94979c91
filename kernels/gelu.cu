// CUDA twins of kernels/gelu.h: the same x·σ(2u) form as the CPU version, with expf.
#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;
constexpr float kS = 0.7978845608028654f;  // √(2/π)
constexpr float kA = 0.044715f;

__global__ void gelu_forward_kernel(float* out, const float* inp, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const float x = inp[i];
    const float u = kS * (x + kA * x * x * x);
    out[i] = x / (1.0f + expf(-2.0f * u));
  }
}

__global__ void gelu_backward_kernel(float* dinp, const float* inp, const float* dout, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const float x = inp[i];
    const float x2 = x * x;
    const float u = kS * (x + kA * x2 * x);
    const float s = 1.0f / (1.0f + expf(-2.0f * u));
    const float du = kS * (1.0f + 3.0f * kA * x2);
    dinp[i] += (s + 2.0f * x * s * (1.0f - s) * du) * dout[i];
  }
}

}  // namespace

void gelu_forward_cuda(float* out, const float* inp, int64_t n) {
  cuda_require("gelu_forward");
  if (n == 0) return;
  gelu_forward_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(out, inp, n);
  CUDA_CHECK_LAUNCH(gelu_forward_kernel);
}

// Rounded from the f32 op's result, so the bits are those of the f32 twin rounded once.
void gelu_forward_cuda(bf16* out, const float* inp, int64_t n) {
  cuda_require("gelu_forward");
  if (n == 0) return;
  CudaBuffer f(size_t(n) * sizeof(float));
  gelu_forward_cuda(f.as<float>(), inp, n);
  cast_to_bf16_cuda(out, f.as<float>(), n);
}

void gelu_backward_cuda(float* dinp, const float* inp, const float* dout, int64_t n) {
  cuda_require("gelu_backward");
  if (n == 0) return;
  gelu_backward_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(dinp, inp, dout, n);
  CUDA_CHECK_LAUNCH(gelu_backward_kernel);
}

}  // namespace seqmend
