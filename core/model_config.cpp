#include "core/model_config.h"

// The YAML machinery (io/config_impl.h) may be absent in a partial checkout; the struct stays usable
// without it, only visit() is missing then.
#if __has_include("io/config_impl.h")
#include "io/config.h"

namespace seqmend {

void ModelConfig::visit(ConfigVisitor& v) {
  v.field("num_items", num_items, "item vocabulary size V (items are 1..V)", 1, (int64_t(1) << 31) - 3);
  v.field("max_len", max_len, "padded sequence length T (newest event at position T-1)", 1, 1 << 20);
  v.field("d_model", d_model, "model width C", 1, 1 << 16);
  v.field("num_layers", num_layers, "transformer blocks", 0, 1024);
  v.field("num_heads", num_heads, "attention heads (must divide d_model)", 1, 1024);
  v.field("emb_dropout", emb_dropout, "dropout after the embedding LayerNorm", 0.0, 0.99);
  v.field("hidden_dropout", hidden_dropout, "dropout on attention/FFN outputs", 0.0, 0.99);
  v.field("attn_dropout", attn_dropout, "dropout on attention probabilities", 0.0, 0.99);
  v.field("num_actions", num_actions, "action-type embedding rows", 1, 1 << 16);
  v.field("num_gap_buckets", num_gap_buckets, "time-gap bucket embedding rows", 1, 1 << 16);
  v.field("layernorm_eps", layernorm_eps, "LayerNorm epsilon", 1e-12, 1.0);
  v.field("init_std", init_std, "std of the normal initialisation", 1e-6, 10.0);
  v.choice("objective", objective, {"cloze", "causal"},
           "cloze: bidirectional attention, masked items as targets (BERT4Rec); causal: left-to-right attention, every event the next-item target of the ones before it (SASRec-style)");
  // Run directories and checkpoints written before `objective` hold `causal: true | false`.
  bool causal_key = causal();
  if (v.retired("causal", causal_key, "objective")) objective = causal_key ? "causal" : "cloze";
  v.field("precision", precision, "f32 | bf16: bf16 runs the block GEMMs, attention and the output layer's products on bf16-rounded inputs with f32 sums (f32 master weights, gradients and optimizer)");
  v.field("seed", seed, "parameter initialisation seed");
}

}  // namespace seqmend
#endif
