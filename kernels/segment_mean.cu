// CUDA twins of kernels/segment_mean.h. Forward: one thread per (sequence, channel), summing rows in
// order as the CPU does; backward: one thread per (row, channel) of a block's sequence.
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;

__global__ void segment_mean_forward_kernel(float* out, const float* inp, const int64_t* cu, long long B, int C) {
  const long long n = B * C;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const long long s = i / C, c = i % C;
    const long long lo = cu[s], hi = cu[s + 1];
    float acc = 0.0f;
    for (long long t = lo; t < hi; ++t) acc = __fadd_rn(acc, inp[t * C + c]);  // no contraction: CPU order
    const float inv = hi > lo ? 1.0f / float(hi - lo) : 0.0f;
    out[i] = __fmul_rn(acc, inv);
  }
}

// Grid-stride over sequences (blocks) and their rows × channels (threads).
__global__ void segment_mean_backward_kernel(float* dinp, const float* dout, const int64_t* cu, long long B, int C) {
  for (long long s = blockIdx.x; s < B; s += gridDim.x) {
    const long long lo = cu[s], hi = cu[s + 1];
    if (hi == lo) continue;
    const float inv = 1.0f / float(hi - lo);
    const long long n = (hi - lo) * C;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) {
      const long long c = i % C;
      dinp[lo * C + i] += __fmul_rn(dout[s * C + c], inv);
    }
  }
}

}  // namespace

void segment_mean_forward_cuda(float* out, const float* inp, const int64_t* cu, int64_t B, int C) {
  cuda_require("segment_mean_forward");
  if (B == 0) return;
  const long long n = (long long)B * C;
  segment_mean_forward_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(out, inp, cu, B, C);
  CUDA_CHECK_LAUNCH(segment_mean_forward_kernel);
}

void segment_mean_backward_cuda(float* dinp, const float* dout, const int64_t* cu, int64_t B, int C) {
  cuda_require("segment_mean_backward");
  if (B == 0) return;
  const unsigned blocks = unsigned(B < 65535 ? B : 65535);
  segment_mean_backward_kernel<<<blocks, kThreads, 0, cuda_stream()>>>(dinp, dout, cu, B, C);
  CUDA_CHECK_LAUNCH(segment_mean_backward_kernel);
}

}  // namespace seqmend
