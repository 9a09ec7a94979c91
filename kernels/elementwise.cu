// CUDA twins of kernels/elementwise.h. sum_squares folds fixed-size chunks in chunk order, like the
// CPU version, so its result depends on n only (not on the GPU or the launch).
#include <cmath>

#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;

__global__ void add_kernel(float* out, const float* inp, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    out[i] += inp[i];
}

__global__ void scale_kernel(float* x, long long n, float s) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    x[i] *= s;
}

__global__ void fill_kernel(float* x, long long n, float v) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    x[i] = v;
}

// Block b sums elements [b·kChunk, (b+1)·kChunk) in double: thread t takes t, t + 256, ..., then a
// fixed shared-memory tree. The chunk layout depends on n alone.
constexpr long long kChunk = 8192;

__global__ void sum_squares_partial(double* partial, const float* x, long long n) {
  __shared__ double sh[kThreads];
  const long long i0 = (long long)blockIdx.x * kChunk;
  const long long i1 = i0 + kChunk < n ? i0 + kChunk : n;
  double acc = 0.0;
  for (long long i = i0 + threadIdx.x; i < i1; i += kThreads) acc += double(x[i]) * double(x[i]);
  sh[threadIdx.x] = acc;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

// One block folds the partials: thread t sums t, t + 256, ... in order, then the same tree.
__global__ void fold_partials(double* out, const double* partial, long long n) {
  __shared__ double sh[kThreads];
  double acc = 0.0;
  for (long long i = threadIdx.x; i < n; i += kThreads) acc += partial[i];
  sh[threadIdx.x] = acc;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = sh[0];
}

}  // namespace

void add_inplace_cuda(float* out, const float* inp, int64_t n) {
  cuda_require("add_inplace");
  if (n == 0) return;
  add_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(out, inp, n);
  CUDA_CHECK_LAUNCH(add_kernel);
}

void scale_inplace_cuda(float* x, int64_t n, float s) {
  cuda_require("scale_inplace");
  if (n == 0) return;
  scale_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(x, n, s);
  CUDA_CHECK_LAUNCH(scale_kernel);
}

void fill_cuda(float* x, int64_t n, float value) {
  cuda_require("fill");
  if (n == 0) return;
  fill_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(x, n, value);
  CUDA_CHECK_LAUNCH(fill_kernel);
}

double sum_squares_cuda(const float* x, int64_t n) {
  cuda_require("sum_squares");
  if (n == 0) return 0.0;
  const long long nchunks = (n + kChunk - 1) / kChunk;
  SEQ_CHECK(nchunks < (1LL << 31), "sum_squares: n=", n, " too large for one grid");
  CudaBuffer partial(size_t(nchunks + 1) * sizeof(double));
  double* p = partial.as<double>();
  sum_squares_partial<<<unsigned(nchunks), kThreads, 0, cuda_stream()>>>(p + 1, x, n);
  CUDA_CHECK_LAUNCH(sum_squares_partial);
  fold_partials<<<1, kThreads, 0, cuda_stream()>>>(p, p + 1, nchunks);
  CUDA_CHECK_LAUNCH(fold_partials);
  double total = 0.0;
  CUDA_CHECK(cudaMemcpy(&total, p, sizeof(double), cudaMemcpyDeviceToHost));
  return total;
}

double clip_global_norm_cuda(float* x, int64_t n, double max_norm) {
  cuda_require("clip_global_norm");
  const double norm = std::sqrt(sum_squares_cuda(x, n));
  SEQ_CHECK(std::isfinite(norm), "clip_global_norm: the global norm of ", n,
            " values is not finite (", norm, "); a gradient has overflowed or is NaN");
  if (max_norm > 0.0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) scale_inplace_cuda(x, n, float(coef));
  }
  return norm;
}

}  // namespace seqmend
