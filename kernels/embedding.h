#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

// out (N, C) = table[ids[n]] (or += when accumulate). An id outside [0, V) is an error naming the
// op, the row and the id.
void embedding_forward(Device dev, float* out, const int32_t* ids, const float* table, int64_t N,
                       int C, int64_t V, bool accumulate, const char* name = "embedding");

// dtable (V, C) += scatter of dout (N, C) by ids; deterministic (same order on every run).
void embedding_backward(Device dev, float* dtable, const float* dout, const int32_t* ids, int64_t N,
                        int C, int64_t V);

}  // namespace seqmend
