// CUDA twin of kernels/focal_loss.h: loss and gradient fused in one kernel, in double, with the
// same stable terms as the CPU version (kernels/focal_term.h, shared by both). 64-bit indexing.
// The sum is deterministic without a second launch: block b sums the fixed chunk
// [b·kChunk, (b+1)·kChunk) through a fixed tree, writes its partial, and the last block to finish
// (a device counter) folds all partials in block order. Bad targets and non-finite losses are
// flagged (smallest element index) in the same pass; the host reads one small result struct back.
#include <cmath>

#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"
#include "kernels/focal_term.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;
constexpr long long kChunk = 4096;  // elements per block

struct FocalResult {
  double total;
  unsigned long long bad_target;  // first element with a target outside [0, 1], or ~0
  unsigned long long nonfinite;   // first element with a non-finite weighted loss, or ~0
  unsigned int blocks_done;
};

__device__ double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  return sh[0];
}

__global__ void focal_kernel(FocalResult* res, double* partial, const float* logits,
                             const float* targets, const float* weights, long long n, double alpha,
                             double gamma, float* dlogits, double scale) {
  __shared__ double sh[kThreads];
  __shared__ bool last;
  const long long i0 = (long long)blockIdx.x * kChunk;
  const long long i1 = i0 + kChunk < n ? i0 + kChunk : n;
  double acc = 0.0;
  for (long long i = i0 + threadIdx.x; i < i1; i += kThreads) {
    const double y = targets[i];
    if (!(y >= 0.0 && y <= 1.0)) {
      atomicMin(&res->bad_target, (unsigned long long)i);
      continue;
    }
    const double w = weights ? double(weights[i]) : 1.0;
    const FocalTerm t = focal_term(logits[i], y, alpha, gamma);
    const double wl = w * t.loss;
    if (!isfinite(wl)) atomicMin(&res->nonfinite, (unsigned long long)i);
    acc += wl;
    if (dlogits) dlogits[i] += float(scale * w * t.grad);
  }
  const double block_total = block_sum(acc, sh);
  if (threadIdx.x == 0) {
    partial[blockIdx.x] = block_total;
    __threadfence();  // the partial is visible before the counter says so
    last = atomicAdd(&res->blocks_done, 1u) == gridDim.x - 1;
  }
  __syncthreads();
  if (!last) return;
  __threadfence();
  double t = 0.0;
  for (long long b = threadIdx.x; b < gridDim.x; b += kThreads) t += ((volatile double*)partial)[b];
  const double total = block_sum(t, sh);
  if (threadIdx.x == 0) res->total = total;
}

}  // namespace

double sigmoid_focal_loss_cuda(const FocalArgs& a, float* dlogits, float scale) {
  cuda_require("sigmoid_focal_loss");
  if (a.n == 0) return 0.0;
  const long long blocks = (a.n + kChunk - 1) / kChunk;
  SEQ_CHECK(blocks < (1LL << 31), "sigmoid_focal_loss: n=", a.n, " too large for one grid");
  CudaBuffer res_buf(sizeof(FocalResult)), partial(size_t(blocks) * sizeof(double));
  FocalResult init{0.0, ~0ULL, ~0ULL, 0u};
  CUDA_CHECK(cudaMemcpyAsync(res_buf.as<void>(), &init, sizeof(init), cudaMemcpyHostToDevice,
                             cuda_stream()));
  focal_kernel<<<unsigned(blocks), kThreads, 0, cuda_stream()>>>(
      res_buf.as<FocalResult>(), partial.as<double>(), a.logits, a.targets, a.weights, a.n, a.alpha,
      a.gamma, dlogits, double(scale));
  CUDA_CHECK_LAUNCH(focal_kernel);
  FocalResult r;
  CUDA_CHECK(cudaMemcpy(&r, res_buf.as<void>(), sizeof(r), cudaMemcpyDeviceToHost));
  if (r.bad_target != ~0ULL) [[unlikely]] {
    float y = 0.0f;
    CUDA_CHECK(cudaMemcpy(&y, a.targets + r.bad_target, sizeof(y), cudaMemcpyDeviceToHost));
    SEQ_FAIL("sigmoid_focal_loss: target ", y, " at element ", r.bad_target, " is outside [0, 1]");
  }
  if (r.nonfinite != ~0ULL || !std::isfinite(r.total)) [[unlikely]] {
    if (r.nonfinite != ~0ULL) {
      float x = 0.0f;
      CUDA_CHECK(cudaMemcpy(&x, a.logits + r.nonfinite, sizeof(x), cudaMemcpyDeviceToHost));
      SEQ_FAIL("sigmoid_focal_loss: non-finite loss at element ", r.nonfinite, " (logit ", x, ")");
    }
    SEQ_FAIL("sigmoid_focal_loss: the summed loss is not finite (", r.total, ")");
  }
  return r.total;
}

}  // namespace seqmend
