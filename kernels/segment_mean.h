// Mean pooling over the sequences of a packed batch: sequence s owns rows [cu[s], cu[s+1]) of a
// (N, C) activation (core/batch.h). The detector's sequence head reads the mean of the encoder's
// hidden states (core/detector_heads.h). `cu` (B + 1 offsets) lives where the data does.
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

// out (B, C) = mean of inp's rows of each sequence; an empty sequence pools to zeros. Each
// element is summed in row order and then scaled, on both devices (the same bits).
void segment_mean_forward(Device dev, float* out, const float* inp, const int64_t* cu, int64_t B, int C);

// dinp (N, C) += dout[s] / len(s) at every row of sequence s.
void segment_mean_backward(Device dev, float* dinp, const float* dout, const int64_t* cu, int64_t B, int C);

}  // namespace seqmend
