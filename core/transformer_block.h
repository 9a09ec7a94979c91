// Pre-LN transformer block over packed sequences:
//   x2  = x  + dropout(proj(attention(qkv(LN1(x)))))     attention: key padding = packing, causal opt.
//   out = x2 + dropout(fc2(GELU(fc(LN2(x2)))))           fc: C → 4C, fc2: 4C → C
#pragma once

#include <string>

#include "core/activation.h"
#include "core/batch.h"
#include "core/device_batch.h"
#include "core/model_config.h"
#include "core/param_buffer.h"
#include "kernels/dropout.h"
#include "kernels/matmul.h"

namespace seqmend {

// Backward scratch shared by all blocks (only one block runs backward at a time).
struct BlockScratch {
  Activation dC;    // (N, C)
  Activation dC2;   // (N, C)
  Activation d3C;   // (N, 3C)
  Activation d4C;   // (N, 4C)
  Activation d4C2;  // (N, 4C)
  Activation dC16, d3C16;  // precision bf16: (N, C), (N, 3C) bf16 attention gradients (d3C16 also
                           // the qkv product's dout)
  void ensure(int64_t N, int C, Device dev);
};

struct BlockDropout {
  DropoutSpec attn;      // on the attention probabilities
  DropoutSpec attn_out;  // after the attention projection
  DropoutSpec ffn_out;   // after the FFN projection
};

class TransformerBlock {
 public:
  static void register_params(ParamBuffer& pb, const ModelConfig& cfg, int layer);
  void bind(ParamBuffer& pb, const ModelConfig& cfg, int layer, Device dev);

  // x (N, C) → out() (N, C). x must stay unchanged until backward (it is LN1's input).
  void forward(const float* x, const Batch& b, const BatchArrays& a, const BlockDropout& drop);
  // dresid (N, C) holds d out on entry and d x on return (the residual path is the identity, so the
  // block adds its branches' input gradients in place). Parameter gradients accumulate.
  void backward(float* dresid, const float* x, const Batch& b, const BatchArrays& a,
                const BlockDropout& drop,
                BlockScratch& s);

  const float* out() const { return out_.f(); }
  // Each activation with its name, in forward order (used to locate the first non-finite value);
  // f32 or bf16.
  template <typename F>
  void each_activation(F&& f) const {
    const std::string p = "block" + std::to_string(layer_) + ".";
    f(p + "ln1", ln1_); f(p + "qkv", qkv_); f(p + "attention", bf16_ ? atty16_ : atty_); f(p + "residual1", res2_);
    f(p + "ln2", ln2_); f(p + "fc", fch_); f(p + "gelu", fch_gelu_); f(p + "residual2", out_);
  }

 private:
  void forward_bf16(const float* x, const Batch& b, const BatchArrays& a, const BlockDropout& drop);

  ModelConfig cfg_;
  int layer_ = 0;
  Device dev_ = Device::CPU;
  // precision bf16: activations that only feed GEMMs and attention are kept in bf16 (ln1_, ln2_,
  // fch_gelu_, qkv16_, atty16_; rounded once where they are made), the weights' bf16 copies are made
  // once per forward (w16_) and reused by backward.
  bool bf16_ = false;
  // parameters (views into the flat buffer) and, with a d prefix, their gradients
  float *ln1_w_, *ln1_b_;     // (C), (C)
  float *qkv_w_, *qkv_b_;     // (3C, C), (3C)
  float *proj_w_, *proj_b_;   // (C, C), (C)
  float *ln2_w_, *ln2_b_;     // (C), (C)
  float *fc_w_, *fc_b_;       // (4C, C), (4C)
  float *fc2_w_, *fc2_b_;     // (C, 4C), (C)
  float *dln1_w_, *dln1_b_, *dqkv_w_, *dqkv_b_, *dproj_w_, *dproj_b_;
  float *dln2_w_, *dln2_b_, *dfc_w_, *dfc_b_, *dfc2_w_, *dfc2_b_;
  // activations
  Activation w16_;            // precision bf16: qkv.w, proj.w, fc.w, fc2.w in bf16, back to back
  Activation ln1_;            // (N, C), bf16 in precision bf16
  Activation ln1_mean_, ln1_rstd_;  // (N, 1)
  Activation qkv_;            // (N, 3C)
  Activation atty_;           // (N, C) attention output, heads concatenated (f32 precision only)
  Activation lse_;            // (N, NH) softmax log-sum-exp per head
  Activation qkv16_, atty16_; // precision bf16: (N, 3C), (N, C) bf16 copies attention reads/writes
  Activation res2_;           // (N, C) x + attention branch
  Activation ln2_;            // (N, C), bf16 in precision bf16
  Activation ln2_mean_, ln2_rstd_;  // (N, 1)
  Activation fch_;            // (N, 4C) fc pre-activation
  Activation fch_gelu_;       // (N, 4C), bf16 in precision bf16
  Activation out_;            // (N, C) res2 + FFN branch
};

}  // namespace seqmend
