// Small vector ops used by residuals, clipping and gradient bookkeeping.
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

void add_inplace(Device dev, float* out, const float* inp, int64_t n);     // out += inp
void scale_inplace(Device dev, float* x, int64_t n, float s);               // x *= s
void fill(Device dev, float* x, int64_t n, float value);
double sum_squares(Device dev, const float* x, int64_t n);                  // Σ x², in double

// Global-norm clipping over one flat buffer: returns the norm before clipping; scales x so its
// norm is at most max_norm (max_norm <= 0 disables). A non-finite norm is an error.
double clip_global_norm(Device dev, float* x, int64_t n, double max_norm);

}  // namespace seqmend
