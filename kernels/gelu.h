#pragma once

#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/device.h"

namespace seqmend {

// GELU, tanh approximation (PyTorch's nn.GELU(approximate="tanh")).
void gelu_forward(Device dev, float* out, const float* inp, int64_t n);
// The same rounded once to bf16 (a bf16-precision model: the output only feeds a GEMM; backward
// reads inp).
void gelu_forward(Device dev, bf16* out, const float* inp, int64_t n);
// Accumulates dinp (n) += gelu'(inp) · dout.
void gelu_backward(Device dev, float* dinp, const float* inp, const float* dout, int64_t n);

}  // namespace seqmend
