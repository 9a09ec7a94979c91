// Dense layers through BLAS (gemm() on CPU: oneDNN or OpenBLAS, kernels/gemm.h; cuBLAS on CUDA). Row-major throughout.
#pragma once

#include <cstdint>

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

}  // namespace seqmend
