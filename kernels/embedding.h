#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

// out (N, C) = table[ids[n]] (or += when accumulate).
// Ids must lie in [0, V). On the CPU an id outside is an error naming the op, the row and the id.
// The CUDA twin does not read the ids back (that would stall the stream once per call): callers
// check them on the host where the batch is built (Batch::validate, run by ItemTransformer::encode before
// the upload); on the device a bad id reads nothing and its output row becomes NaN, so a missed
// check surfaces as a non-finite loss instead of an out-of-bounds read.
void embedding_forward(Device dev, float* out, const int32_t* ids, const float* table, int64_t N,
                       int C, int64_t V, bool accumulate, const char* name = "embedding");

// Rows per chunk of the backward's fixed summation order (below).
inline constexpr int64_t kEmbeddingGradChunkRows = 128;

// dtable (V, C) += scatter of dout (N, C) by ids, in one fixed order on both devices, so the CPU
// and the CUDA twin give the same bits on every run: rows are cut into chunks of
// kEmbeddingGradChunkRows ([j·K, (j+1)·K)); for each id, the rows of a chunk carrying it are summed
// in row order (the first row, then + each next one), and those chunk sums are added into the
// table row in chunk order. Why chunks: real batches hold runs of ~20k equal ids (action 0, gap
// bucket 0, the mask token); the CUDA twin reduces the chunks of a run in parallel, so the longest
// sequential walk is K + N/K additions instead of N.
// Ids as for embedding_forward; on the device a bad id's rows are left out.
void embedding_backward(Device dev, float* dtable, const float* dout, const int32_t* ids, int64_t N,
                        int C, int64_t V);

}  // namespace seqmend
