// Row gathers between a (N, C) activation and a (R, C) subset of its rows, e.g. the encoder output
// at the target rows (forward) and their gradient back into the residual stream (backward).
// `rows` lives where the data does (device memory for Device::CUDA); every row must be in [0, N).
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

// dst (R, C) = src[rows[r]]. An out-of-range row is an error naming it (the CPU checks each row;
// the CUDA twin trusts the caller, who checks on the host before uploading).
void gather_rows(Device dev, float* dst, const float* src, const int64_t* rows, int64_t R, int C,
                 int64_t N);

// dst[rows[r]] = src (R, C), the other rows of dst untouched. Rows must be distinct (then each
// destination row has one writer and no order matters).
void scatter_rows(Device dev, float* dst, const float* src, const int64_t* rows, int64_t R, int C,
                  int64_t N);

}  // namespace seqmend
