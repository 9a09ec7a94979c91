#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

// GELU, tanh approximation (PyTorch's nn.GELU(approximate="tanh")).
void gelu_forward(Device dev, float* out, const float* inp, int64_t n);
// Accumulates dinp (n) += gelu'(inp) · dout.
void gelu_backward(Device dev, float* dinp, const float* inp, const float* dout, int64_t n);

}  // namespace seqmend
