// Scores of items against hidden states through the tied output layer: score(r, v) = hidden[r] ·
// table[v] + bias[v]. Used for ranking at evaluation time, where the score of every item must be
// the same bits however the rows are chunked, batched or spread over ranks (a rank is a count of
// comparisons, so one flipped bit can move it). Both functions therefore compute each score with
// the same fixed-order dot product (8 partial sums over the channels, folded in a fixed tree), one
// (row, item) at a time, never through BLAS, whose summation order may depend on the matrix shape.
#pragma once

#include <cstdint>

#include "kernels/device.h"

namespace seqmend {

// out (R, V) = hidden (R, C) · table (V, C)ᵀ + bias (V); bias may be null. Column j of out is table
// row j (callers pass the item table from item 1 on, so column j is item j + 1). Runs on the calling
// thread: callers parallelise over row chunks.
void item_scores(Device dev, float* out, const float* hidden, const float* table, const float* bias,
                 int64_t R, int C, int64_t V);

// out (n) = hidden (C) · table[items[i]] + bias[items[i]] for the n listed table rows (bias may be
// null). Equal, bit for bit, to the same entries of item_scores.
void item_scores_at(Device dev, float* out, const float* hidden, const float* table, const float* bias,
                    const int32_t* items, int64_t n, int C);

}  // namespace seqmend
