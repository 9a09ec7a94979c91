// The output layer outside training: how well each item fits a hidden state, for the encoder's
// surprisal, the repair predictor and next-item evaluation. The layer is tied to the input
// embedding: the score of item v (1..V) at hidden state h is h · emb.item[v] + out.bias[v].
//
// Two forms, because their callers need different guarantees:
//   logits  through the GEMM (kernels/matmul.h): fast, for softmax-based uses;
//   scores  through kernels/item_scores.h's fixed-order dot product: the same bits however rows are
//           chunked or spread over ranks, for ranking (a rank counts comparisons).
// Column j of an output row is item j + 1. Hidden states and outputs are in host memory.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace seqmend {

class ItemTransformer;

class ItemScorer {
 public:
  // Reads the model's parameters where they are; a model on the GPU lends a host copy, taken once.
  explicit ItemScorer(ItemTransformer& model);

  int64_t num_items() const { return V_; }
  int d_model() const { return C_; }

  // out (R, V) = H (R, C) · tableᵀ + bias.
  void logits(const float* H, int64_t R, float* out) const;
  // The same values through the fixed-order dot product, for ranking.
  void scores(const float* H, int64_t R, float* out) const;
  // out (n) = h (C) · table[items[i] − 1] + bias: the listed items' entries of scores(), bit for bit.
  void scores_at(const float* h, const int32_t* items, int64_t n, float* out) const;

 private:
  Tensor host_params_;  // set only when the model's parameters live on the GPU
  const float* table_ = nullptr;  // (V, C) the item rows from item 1 on
  const float* bias_ = nullptr;   // (V)
  int C_ = 0;
  int64_t V_ = 0;
};

}  // namespace seqmend
