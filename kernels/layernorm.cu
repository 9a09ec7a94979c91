// CUDA twins of kernels/layernorm.h. One warp per row; the mean and variance use two passes over the
// row (it sits in L1), which is at least as accurate as the CPU's shifted one-pass form.
// dweight/dbias are column sums over the rows: per-row products go into a scratch (N, 2C) and
// cuda_column_sums_add folds them in a fixed order, so the result is the same on every run.
#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kWarpsPerBlock = 8;

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__global__ void layernorm_forward_kernel(float* out, float* mean, float* rstd, const float* inp,
                                         const float* weight, const float* bias, long long N, int C,
                                         float eps) {
  const long long n = (long long)blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (n >= N) return;
  const float* x = inp + n * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += 32) s += x[c];
  const float m = warp_sum(s) / float(C);
  float s2 = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float d = x[c] - m;
    s2 += d * d;
  }
  const float var = warp_sum(s2) / float(C);  // biased, as PyTorch
  const float r = rsqrtf(var + eps);
  float* o = out + n * C;
  for (int c = lane; c < C; c += 32) o[c] = (x[c] - m) * r * weight[c] + bias[c];
  if (lane == 0) {
    mean[n] = m;
    rstd[n] = r;
  }
}

// dinp per row (warp per row); prod (N, 2C) receives dy·xhat and dy for the column sums.
__global__ void layernorm_backward_kernel(float* dinp, float* prod, const float* dout,
                                          const float* inp, const float* weight, const float* mean,
                                          const float* rstd, long long N, int C) {
  const long long n = (long long)blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (n >= N) return;
  const float* x = inp + n * C;
  const float* dy = dout + n * C;
  const float m = mean[n], r = rstd[n];
  float* pw = prod + n * 2 * C;
  float sd = 0.0f, sdx = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float xhat = (x[c] - m) * r;
    // __fmul_rn: products rounded on their own, never fused into the sums below, so that the CPU
    // twin (no contraction in ISO C++) gets the same bits; with C = 1 an FMA would keep the
    // residual dy·w − round(dy·w) where the CPU gets exactly 0.
    const float dn = __fmul_rn(dy[c], weight[c]);
    sd += dn;
    sdx += dn * xhat;
    pw[c] = dy[c] * xhat;
    pw[C + c] = dy[c];
  }
  const float a = warp_sum(sd) / float(C), b = warp_sum(sdx) / float(C);
  float* dx = dinp + n * C;
  for (int c = lane; c < C; c += 32) {
    const float xhat = (x[c] - m) * r;
    dx[c] += __fmul_rn(__fsub_rn(__fsub_rn(__fmul_rn(dy[c], weight[c]), a), __fmul_rn(xhat, b)), r);
  }
}

__global__ void split_add(float* dweight, float* dbias, const float* sums, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  dweight[c] += sums[c];
  dbias[c] += sums[C + c];
}

}  // namespace

void layernorm_forward_cuda(float* out, float* mean, float* rstd, const float* inp,
                            const float* weight, const float* bias, int64_t N, int C, float eps) {
  cuda_require("layernorm_forward");
  if (N == 0) return;
  const unsigned blocks = unsigned((N + kWarpsPerBlock - 1) / kWarpsPerBlock);
  layernorm_forward_kernel<<<blocks, 32 * kWarpsPerBlock, 0, cuda_stream()>>>(
      out, mean, rstd, inp, weight, bias, N, C, eps);
  CUDA_CHECK_LAUNCH(layernorm_forward_kernel);
}

// Rounded from the f32 op's result, so the bits are those of the f32 twin rounded once.
void layernorm_forward_cuda(bf16* out, float* mean, float* rstd, const float* inp, const float* weight,
                            const float* bias, int64_t N, int C, float eps) {
  cuda_require("layernorm_forward");
  if (N == 0) return;
  CudaBuffer f(size_t(N) * C * sizeof(float));
  layernorm_forward_cuda(f.as<float>(), mean, rstd, inp, weight, bias, N, C, eps);
  cast_to_bf16_cuda(out, f.as<float>(), N * C);
}

void layernorm_backward_cuda(float* dinp, float* dweight, float* dbias, const float* dout,
                             const float* inp, const float* weight, const float* mean,
                             const float* rstd, int64_t N, int C) {
  cuda_require("layernorm_backward");
  if (N == 0) return;
  CudaBuffer prod(size_t(N) * 2 * size_t(C) * sizeof(float));  // (N, 2C)
  CudaBuffer sums(2 * size_t(C) * sizeof(float));                // (2C)
  CUDA_CHECK(cudaMemsetAsync(sums.as<float>(), 0, 2 * size_t(C) * sizeof(float), cuda_stream()));
  const unsigned blocks = unsigned((N + kWarpsPerBlock - 1) / kWarpsPerBlock);
  layernorm_backward_kernel<<<blocks, 32 * kWarpsPerBlock, 0, cuda_stream()>>>(
      dinp, prod.as<float>(), dout, inp, weight, mean, rstd, N, C);
  CUDA_CHECK_LAUNCH(layernorm_backward_kernel);
  cuda_column_sums_add(sums.as<float>(), prod.as<float>(), N, 2LL * C, 2LL * C);
  split_add<<<unsigned((C + 255) / 256), 256, 0, cuda_stream()>>>(dweight, dbias, sums.as<float>(), C);
  CUDA_CHECK_LAUNCH(split_add);
}

}  // namespace seqmend
