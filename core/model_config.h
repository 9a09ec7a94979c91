// The shape, regularisation and objective of the item transformer. Every dimension letter used by
// the layers comes from here: V num_items, T max_len, C d_model, L num_layers, NH num_heads, HS = C / NH.
#pragma once

#include <cstdint>
#include <string>

#include "core/base/error.h"

namespace seqmend {

class ConfigVisitor;

struct ModelConfig {
  int64_t num_items = 0;        // V: items 1..V; table rows are 0 (pad), 1..V, V+1 (mask token)
  int max_len = 200;            // T: padded length; the newest event sits at position T − 1
  int d_model = 64;             // C
  int num_layers = 2;           // L
  int num_heads = 2;            // NH; C % NH == 0
  float emb_dropout = 0.1f;     // after the embedding LayerNorm
  float hidden_dropout = 0.1f;  // after each attention and FFN projection, before the residual add
  float attn_dropout = 0.1f;    // on the attention probabilities
  int num_actions = 16;         // action-type embedding rows (io/sequence_set.h codes are < 16)
  int num_gap_buckets = 32;     // time-gap embedding rows; see time_gap_bucket in core/batch.h
  float layernorm_eps = 1e-5f;
  float init_std = 0.02f;       // N(0, init_std²) for embeddings and weight matrices
  // cloze: bidirectional attention, masked items as targets (BERT4Rec); causal: left-to-right
  // attention, every next item a target (SASRec-style). Files written before this key hold the
  // retired `causal: true | false` (read by visit).
  std::string objective = "cloze";
  // f32, or bf16: the block GEMMs, attention and the output layer's products compute on
  // bf16-rounded inputs (f32 sums), the activations that only feed them stored in bf16; master
  // weights, gradients, optimizer state, the residual stream and every other op stay f32
  // (kernels/matmul.h MatmulPrecision, core/transformer_block.h).
  std::string precision = "f32";
  uint64_t seed = 42;           // parameter init

  int ffn_dim() const { return 4 * d_model; }
  int head_size() const { return d_model / num_heads; }
  int64_t mask_token() const { return num_items + 1; }
  int64_t table_rows() const { return num_items + 2; }  // pad + items + mask
  bool causal() const { return objective == "causal"; }

  // Throws unless the encoder is a bidirectional cloze model: `user` (detector, surprisal, repair
  // predictor) reads an event from both sides or asks the model about a mask token, which a causal
  // encoder never saw in training.
  void require_cloze(const char* user) const {
    SEQ_CHECK(!causal(), user, ": the encoder's objective is causal (model.objective: causal, next-item "
              "training); this needs a bidirectional cloze encoder (model.objective: cloze)");
  }

  // Throws seqmend::Error naming the first bad field and its value.
  void validate() const {
    SEQ_CHECK(num_items >= 1, "model config: num_items must be >= 1, got ", num_items);
    SEQ_CHECK(num_items < (int64_t(1) << 31) - 2, "model config: num_items ", num_items,
              " does not fit int32 item ids");
    SEQ_CHECK(max_len >= 1, "model config: max_len must be >= 1, got ", max_len);
    SEQ_CHECK(d_model >= 1, "model config: d_model must be >= 1, got ", d_model);
    SEQ_CHECK(num_layers >= 0, "model config: num_layers must be >= 0, got ", num_layers);
    SEQ_CHECK(num_heads >= 1 && d_model % num_heads == 0, "model config: d_model ", d_model,
              " is not divisible by num_heads ", num_heads);
    SEQ_CHECK(precision == "f32" || precision == "bf16", "model config: precision `", precision,
              "` is not f32 or bf16");
    SEQ_CHECK(objective == "cloze" || objective == "causal", "model config: objective `", objective,
              "` is not cloze or causal");
    for (float p : {emb_dropout, hidden_dropout, attn_dropout})
      SEQ_CHECK(p >= 0.0f && p < 1.0f, "model config: dropout rates must be in [0, 1), got ", p);
    SEQ_CHECK(num_actions >= 1, "model config: num_actions must be >= 1, got ", num_actions);
    SEQ_CHECK(num_gap_buckets >= 1, "model config: num_gap_buckets must be >= 1, got ",
              num_gap_buckets);
    SEQ_CHECK(layernorm_eps > 0.0f, "model config: layernorm_eps must be > 0, got ", layernorm_eps);
    SEQ_CHECK(init_std > 0.0f, "model config: init_std must be > 0, got ", init_std);
  }

  // Field description for io/config.h (defined in core/model_config.cpp).
  void visit(ConfigVisitor& v);
};

}  // namespace seqmend
