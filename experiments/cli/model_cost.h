// What a model size costs, before and after training: parameter count, training FLOPs, memory per
// rank and a step-time estimate. `seqmend sweep` prints these before it starts a point and refuses
// points that would not fit in memory; `seqmend sweep collect` puts parameters and FLOPs in the
// results table, the x axes of the scaling plots.
//
// FLOPs count the matrix products only (2 per multiply-add; backward = 2 × forward, so training =
// 3 × forward), with C = d_model, L = num_layers, V = num_items, per token and per target row:
//   per token, each layer: QKV 6C², projection 2C², FFN 16C²   = 24 C²
//                          QKᵀ and PV: 4 C × ctx, ctx = keys a query sees (causal: (len + 1) / 2)
//   per target row:        output layer over the whole vocabulary 2 C (V + 2)
// Embeddings, LayerNorms, softmax and the optimizer are left out (a few % at these sizes).
#pragma once

#include <cstdint>
#include <string>

#include "core/model_config.h"

namespace seqmend {

struct PretrainConfig;

// Parameters the model registers for `cfg` (cfg.num_items resolved), without allocating them.
int64_t parameter_count(const ModelConfig& cfg);

// The shape of the training data a cost depends on: from a shard set's manifest (before training)
// or from a finished run's results (tokens actually trained on).
struct DataShape {
  int64_t num_items = 0;  // V
  int64_t train_sequences = 0;
  double mean_tokens = 0.0;  // per training sequence, after the max_len cut
  double total_bytes = 0.0;  // decoded size of every split (a rank holds it all)
};

// Reads `data_dir`/manifest.json; mean_tokens = min(mean train length, max_len). Throws naming the
// file when it is missing or unreadable.
DataShape data_shape(const std::string& data_dir, int max_len);

// Targets per token of the objective: causal trains every token but a sequence's first; cloze the
// masked share.
double targets_per_token(const PretrainConfig& cfg, double mean_tokens);

// Training FLOPs of `tokens` tokens in sequences of `mean_tokens`.
double train_flops(const ModelConfig& cfg, double tokens, double targets, double mean_tokens);

// Tokens per step: the global batch at the data's mean length, shortened by crop_prob.
struct CostEstimate {
  int64_t params = 0;
  int64_t steps = 0;            // max_steps, or epochs × steps per epoch (early stopping may cut it)
  double flops_per_step = 0.0;  // global batch
  double bytes_per_rank = 0.0;  // parameters, gradients, AdamW moments, best copy, activations, data
  double step_seconds = 0.0;    // at `gflops` (0 when gflops is 0)
};

// The estimate for one pretraining run on `world` ranks reaching `gflops` together.
CostEstimate estimate_pretrain_cost(const PretrainConfig& cfg, const DataShape& data, int world, double gflops);

// This machine's single-precision matrix-product rate at `threads` threads, measured on a product
// the size of a small model's layer (a few hundredths of a second), times the share of it a whole
// training step reaches: FLOPs per step / this = an estimated step time on an otherwise idle machine
// (a rough figure: other work on the machine slows the steps, not the estimate).
double measured_step_gflops(int threads);

// Physical memory this machine has available now (MemAvailable), in bytes; 0 when unknown.
double available_memory_bytes();

// "1.2M", "35.0G": parameter counts and FLOPs in tables.
std::string si_number(double x);
// "512 MiB", "3.4 GiB".
std::string byte_size(double bytes);

}  // namespace seqmend
