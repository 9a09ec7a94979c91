// Conversions between f32 activations and bf16 buffers, for the parts of a bf16-precision model
// that run on bf16 (attention, GEMM inputs). Rounding to nearest even, as kernels/bf16.h.
#pragma once

#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/device.h"

namespace seqmend {

void cast_to_bf16(Device dev, bf16* dst, const float* src, int64_t n);
void cast_to_f32(Device dev, float* dst, const bf16* src, int64_t n);
// dst += src (widened): how a bf16 gradient reaches an f32 one.
void add_bf16(Device dev, float* dst, const bf16* src, int64_t n);

}  // namespace seqmend
