// Softmax cross-entropy over the whole item vocabulary, only at the rows that carry a target.
// The logits of row m are hidden[m] · table[first + v] + bias[first + v] for v in [0, V): the output
// layer is tied to the item embedding table. Rows are processed in chunks, so at most
// chunk_rows × V logits exist at once and no (B·T × V) tensor is ever built.
#pragma once

#include <cstdint>

#include "kernels/device.h"
#include "kernels/matmul.h"

namespace seqmend {

struct XentArgs {
  const float* hidden = nullptr;   // (M, C) final hidden states at the target rows
  const float* table = nullptr;    // (first + V + ..., C) tied item embedding
  const float* bias = nullptr;     // (first + V + ...) output bias
  const int32_t* targets = nullptr;// (M) target item ids, each in [first, first + V)
  int64_t M = 0;
  int C = 0;
  int64_t V = 0;                   // number of scoreable items
  int64_t first = 1;               // table row of item 0 of the vocabulary (row 0 is padding)
  int64_t chunk_rows = 256;
  // bf16: the three products take bf16-rounded operands (hidden, table, and the logits' gradient)
  // with f32 sums, as the blocks' GEMMs do; the softmax, the loss and dbias stay f32.
  MatmulPrecision prec = MatmulPrecision::f32;
};

struct XentGrads {
  float* dhidden = nullptr;        // (M, C) +=; null: no gradient wanted at all
  float* dtable = nullptr;         // +=
  float* dbias = nullptr;          // +=
  float scale = 1.0f;              // gradient of the summed loss is multiplied by this (e.g. 1/M)
};

// Returns Σ_m −log softmax(logits_m)[target_m] (a sum, not a mean) in double. With g.dhidden set,
// also accumulates the gradients of scale × that sum (dtable and dbias must then be set too; table
// rows outside [first, first + V) get nothing). A target outside [first, first + V) and a
// non-finite loss are errors naming the row. CPU scratch: chunk_rows × V floats for the logits plus
// 16 × chunk_rows × C for dhidden, kept by the calling thread for the next call; results are
// bitwise the same for any thread count.
double softmax_xent(Device dev, const XentArgs& a, const XentGrads& g = {});

}  // namespace seqmend
