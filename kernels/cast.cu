// CUDA twins of kernels/cast.h: one element per thread, grid-stride.
#include <cuda_bf16.h>

#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;

__global__ void to_bf16_kernel(__nv_bfloat16* dst, const float* src, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    dst[i] = __float2bfloat16_rn(src[i]);
}

template <bool kAdd>
__global__ void to_f32_kernel(float* dst, const __nv_bfloat16* src, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    dst[i] = kAdd ? dst[i] + __bfloat162float(src[i]) : __bfloat162float(src[i]);
}

}  // namespace

void cast_to_bf16_cuda(bf16* dst, const float* src, int64_t n) {
  cuda_require("cast_to_bf16");
  if (n == 0) return;
  to_bf16_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(
      reinterpret_cast<__nv_bfloat16*>(dst), src, n);
  CUDA_CHECK_LAUNCH(to_bf16_kernel);
}

void cast_to_f32_cuda(float* dst, const bf16* src, int64_t n) {
  cuda_require("cast_to_f32");
  if (n == 0) return;
  to_f32_kernel<false><<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(
      dst, reinterpret_cast<const __nv_bfloat16*>(src), n);
  CUDA_CHECK_LAUNCH(to_f32_kernel);
}

void add_bf16_cuda(float* dst, const bf16* src, int64_t n) {
  cuda_require("add_bf16");
  if (n == 0) return;
  to_f32_kernel<true><<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(
      dst, reinterpret_cast<const __nv_bfloat16*>(src), n);
  CUDA_CHECK_LAUNCH(to_f32_kernel);
}

}  // namespace seqmend
