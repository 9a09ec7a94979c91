#pragma once

#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/device.h"

namespace seqmend {

// out (N, C) = (inp − mean) · rstd · weight + bias, per row; saves mean (N) and rstd (N) for backward.
void layernorm_forward(Device dev, float* out, float* mean, float* rstd, const float* inp,
                       const float* weight, const float* bias, int64_t N, int C, float eps);
// The same with out rounded once to bf16, for a bf16-precision model (out only feeds a GEMM; backward
// reads inp, mean and rstd, never out).
void layernorm_forward(Device dev, bf16* out, float* mean, float* rstd, const float* inp,
                       const float* weight, const float* bias, int64_t N, int C, float eps);

// Accumulates dinp (N, C), dweight (C), dbias (C).
void layernorm_backward(Device dev, float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        int64_t N, int C);

}  // namespace seqmend
