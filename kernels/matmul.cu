// CUDA twins of kernels/matmul.h through cuBLAS (FP32, no TF32; see cuda_context.h). Row-major
// X (R, K) is column-major Xᵀ (K, R), so each row-major product is issued as its transpose:
//   out (N, OC) = inp · Wᵀ       →  outᵀ (OC, N)  = W_cm(C, OC)ᵀ · inp_cm (C, N)
//   dinp (N, C) += dout · W      →  dinpᵀ (C, N)  = W_cm (C, OC) · dout_cm (OC, N)
//   dW (OC, C)  += doutᵀ · inp   →  dWᵀ (C, OC)   = inp_cm (C, N) · dout_cm (OC, N)ᵀ
// cuBLAS without atomics-mode gives the same bits on every run; dbias is a fixed-order column sum.
// MatmulPrecision::bf16: the operands are rounded into bf16 scratch copies and multiplied by
// cublasGemmEx (bf16 in, f32 out, f32 compute: the tensor cores' bf16 path).
#include <cuda_bf16.h>

#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

__global__ void broadcast_rows(float* out, const float* bias, long long N, int OC) {
  const long long total = N * OC;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x)
    out[i] = bias[i % OC];
}

// A bf16 copy of n floats (rounded to nearest even), in scratch memory.
CudaBuffer bf16_copy(const float* x, int64_t n) {
  CudaBuffer b(size_t(n) * sizeof(bf16));
  cast_to_bf16_cuda(b.as<bf16>(), x, n);
  return b;
}

// C (m, n, column-major, f32) = alpha · op(A) · op(B) + beta · C with bf16 A and B.
void gemm_bf16(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void* A, int lda,
               const void* B, int ldb, float beta, float* Cm, int ldc) {
  const float one = 1.0f;
  CUBLAS_CHECK(cublasGemmEx(cublas_handle(), ta, tb, m, n, k, &one, A, CUDA_R_16BF, lda, B, CUDA_R_16BF,
                            ldb, &beta, Cm, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// out (N, OC) = bias in every row, for the GEMM to add into; returns that GEMM's beta (0 without a
// bias: out's old contents are then ignored).
float start_from_bias(float* out, const float* bias, int64_t N, int OC) {
  if (!bias) return 0.0f;
  broadcast_rows<<<grid_for(N * OC, 256), 256, 0, cuda_stream()>>>(out, bias, N, OC);
  CUDA_CHECK_LAUNCH(broadcast_rows);
  return 1.0f;
}

}  // namespace

void matmul_forward_cuda(float* out, const float* inp, const float* weight, const float* bias,
                         int64_t N, int C, int OC, MatmulPrecision prec) {
  cuda_require("matmul_forward");
  if (N == 0) return;
  const float beta = start_from_bias(out, bias, N, OC);
  if (prec == MatmulPrecision::bf16) {
    const CudaBuffer w = bf16_copy(weight, int64_t(OC) * C), x = bf16_copy(inp, N * C);
    gemm_bf16(CUBLAS_OP_T, CUBLAS_OP_N, OC, int(N), C, w.as<void>(), C, x.as<void>(), C, beta, out, OC);
    return;
  }
  const float one = 1.0f;
  CUBLAS_CHECK(cublasSgemm(cublas_handle(), CUBLAS_OP_T, CUBLAS_OP_N, OC, int(N), C, &one, weight, C,
                           inp, C, &beta, out, OC));
}

void matmul_backward_cuda(float* dinp, float* dweight, float* dbias, const float* dout,
                          const float* inp, const float* weight, int64_t N, int C, int OC,
                          MatmulPrecision prec) {
  cuda_require("matmul_backward");
  if (N == 0) return;
  if (prec == MatmulPrecision::bf16) {
    const CudaBuffer d = bf16_copy(dout, N * OC);
    if (dinp) {
      const CudaBuffer w = bf16_copy(weight, int64_t(OC) * C);
      gemm_bf16(CUBLAS_OP_N, CUBLAS_OP_N, C, int(N), OC, w.as<void>(), C, d.as<void>(), OC, 1.0f, dinp, C);
    }
    if (dweight) {
      const CudaBuffer x = bf16_copy(inp, N * C);
      gemm_bf16(CUBLAS_OP_N, CUBLAS_OP_T, C, OC, int(N), x.as<void>(), C, d.as<void>(), OC, 1.0f, dweight, C);
    }
    if (dbias) cuda_column_sums_add(dbias, dout, N, OC, OC);  // a sum of dout itself: unrounded
    return;
  }
  const float one = 1.0f;
  if (dinp)
    CUBLAS_CHECK(cublasSgemm(cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_N, C, int(N), OC, &one, weight,
                             C, dout, OC, &one, dinp, C));
  if (dweight)
    CUBLAS_CHECK(cublasSgemm(cublas_handle(), CUBLAS_OP_N, CUBLAS_OP_T, C, OC, int(N), &one, inp, C,
                             dout, OC, &one, dweight, C));
  if (dbias) cuda_column_sums_add(dbias, dout, N, OC, OC);
}

void matmul_forward_cuda(float* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N,
                         int C, int OC, bf16* out16) {
  cuda_require("matmul_forward");
  if (N == 0) return;
  const float beta = start_from_bias(out, bias, N, OC);
  gemm_bf16(CUBLAS_OP_T, CUBLAS_OP_N, OC, int(N), C, weight, C, inp, C, beta, out, OC);
  if (out16) cast_to_bf16_cuda(out16, out, N * OC);
}

void matmul_backward_cuda(float* dinp, float* dweight, float* dbias, const float* dout, const bf16* inp,
                          const bf16* weight, int64_t N, int C, int OC) {
  cuda_require("matmul_backward");
  if (N == 0) return;
  if (dbias) cuda_column_sums_add(dbias, dout, N, OC, OC);  // a sum of dout itself: unrounded
  if (!dinp && !dweight) return;
  const CudaBuffer d = bf16_copy(dout, N * OC);
  matmul_backward_cuda(dinp, dweight, nullptr, d.as<bf16>(), inp, weight, N, C, OC);
}

void matmul_backward_cuda(float* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp,
                          const bf16* weight, int64_t N, int C, int OC) {
  cuda_require("matmul_backward");
  if (N == 0) return;
  if (dinp) gemm_bf16(CUBLAS_OP_N, CUBLAS_OP_N, C, int(N), OC, weight, C, dout, OC, 1.0f, dinp, C);
  if (dweight) gemm_bf16(CUBLAS_OP_N, CUBLAS_OP_T, C, OC, int(N), inp, C, dout, OC, 1.0f, dweight, C);
  if (dbias) {  // the sum of the widened bf16 values
    CudaBuffer d(size_t(N) * OC * sizeof(float));
    cast_to_f32_cuda(d.as<float>(), dout, N * OC);
    cuda_column_sums_add(dbias, d.as<float>(), N, OC, OC);
  }
}

}  // namespace seqmend
