// CUDA twins of kernels/dropout.h. The keep rule is the constexpr dropout_keep_in_row /
// dropout_row_hash of kernels/dropout.h itself (compiled for the device through
// --expt-relaxed-constexpr), so the GPU mask is the CPU mask bit for bit.
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;

template <bool kAccumulate>
__global__ void dropout_kernel(float* out, const float* inp, const uint64_t* token_keys,
                               long long N, int C, DropoutSpec d, float scale) {
  const long long total = N * C;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long n = i / C;
    const int c = int(i - n * C);
    float v = inp[i];
    if (d.p > 0.0f) {
      const bool keep = dropout_keep_in_row(dropout_row_hash(d, token_keys[n]), uint64_t(c), d.p);
      v *= keep ? scale : 0.0f;
    }
    if (kAccumulate)
      out[i] += v;
    else
      out[i] = v;
  }
}

}  // namespace

void dropout_forward_cuda(float* out, const float* inp, const uint64_t* token_keys, int64_t N,
                          int C, const DropoutSpec& d) {
  cuda_require("dropout_forward");
  if (N == 0) return;
  if (d.p == 0.0f && out == inp) return;
  const float scale = d.p < 1.0f ? 1.0f / (1.0f - d.p) : 0.0f;
  dropout_kernel<false><<<grid_for(N * C, kThreads), kThreads, 0, cuda_stream()>>>(
      out, inp, token_keys, N, C, d, scale);
  CUDA_CHECK_LAUNCH(dropout_kernel);
}

void dropout_backward_cuda(float* dinp, const float* dout, const uint64_t* token_keys, int64_t N,
                           int C, const DropoutSpec& d) {
  cuda_require("dropout_backward");
  if (N == 0) return;
  const float scale = d.p < 1.0f ? 1.0f / (1.0f - d.p) : 0.0f;
  dropout_kernel<true><<<grid_for(N * C, kThreads), kThreads, 0, cuda_stream()>>>(
      dinp, dout, token_keys, N, C, d, scale);
  CUDA_CHECK_LAUNCH(dropout_kernel);
}

}  // namespace seqmend
