// Dense layers through BLAS (gemm() on CPU: oneDNN or OpenBLAS, kernels/gemm.h; cuBLAS on CUDA). Row-major throughout.
#pragma once

#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/device.h"

namespace seqmend {

// How a product is computed. bf16: both inputs rounded to bf16 (to nearest even), multiplied exactly
// and summed in f32 — on CUDA the tensor cores' bf16 path (cublasGemmEx on bf16 copies), on the CPU
// sgemm on rounded copies, so both see identical inputs and differ only in summation order.
enum class MatmulPrecision { f32, bf16 };

// out (N, OC) = inp (N, C) · weight (OC, C)ᵀ + bias (OC); bias may be null.
void matmul_forward(Device dev, float* out, const float* inp, const float* weight, const float* bias,
                    int64_t N, int C, int OC, MatmulPrecision prec = MatmulPrecision::f32);

// Backward accumulates: dinp (N, C) += dout · weight; dweight (OC, C) += doutᵀ · inp;
// dbias (OC) += Σ_rows dout. Any of dinp / dweight / dbias may be null to skip it.
void matmul_backward(Device dev, float* dinp, float* dweight, float* dbias, const float* dout,
                     const float* inp, const float* weight, int64_t N, int C, int OC,
                     MatmulPrecision prec = MatmulPrecision::f32);

// MatmulPrecision::bf16 on operands already stored in bf16: a bf16-precision model keeps the
// activations that only feed GEMMs in bf16 (rounded once where they are made) and its weights' bf16
// copies for the step, so nothing is rounded again per product. The products and f32 sums are
// those of MatmulPrecision::bf16 on the f32 originals. out16 (optional) receives out rounded to
// bf16 as well, for a consumer that reads bf16 (attention reads qkv so).
void matmul_forward(Device dev, float* out, const bf16* inp, const bf16* weight, const float* bias,
                    int64_t N, int C, int OC, bf16* out16 = nullptr);
// dout f32 (a gradient): rounded to bf16 for the products; dbias sums it unrounded.
void matmul_backward(Device dev, float* dinp, float* dweight, float* dbias, const float* dout,
                     const bf16* inp, const bf16* weight, int64_t N, int C, int OC);
// dout already bf16 (attention's bf16 dqkv): dbias sums its widened values.
void matmul_backward(Device dev, float* dinp, float* dweight, float* dbias, const bf16* dout,
                     const bf16* inp, const bf16* weight, int64_t N, int C, int OC);

}  // namespace seqmend
