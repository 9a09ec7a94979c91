#include "core/transformer_block.h"

#include "kernels/attention.h"
#include "kernels/cast.h"
#include "kernels/elementwise.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"

namespace seqmend {

void BlockScratch::ensure(int64_t N, int C, Device dev) {
  dC.ensure(N, C, DType::F32, dev);
  dC2.ensure(N, C, DType::F32, dev);
  d3C.ensure(N, 3 * C, DType::F32, dev);
  d4C.ensure(N, 4 * C, DType::F32, dev);
  d4C2.ensure(N, 4 * C, DType::F32, dev);
}

void TransformerBlock::register_params(ParamBuffer& pb, const ModelConfig& cfg, int layer) {
  const std::string p = "block" + std::to_string(layer) + ".";
  const int64_t C = cfg.d_model, F = cfg.ffn_dim();
  pb.add(p + "ln1.w", {C}, ParamInit::Ones, false);
  pb.add(p + "ln1.b", {C}, ParamInit::Zeros, false);
  pb.add(p + "qkv.w", {3 * C, C}, ParamInit::Normal, true);
  pb.add(p + "qkv.b", {3 * C}, ParamInit::Zeros, false);
  pb.add(p + "proj.w", {C, C}, ParamInit::Normal, true);
  pb.add(p + "proj.b", {C}, ParamInit::Zeros, false);
  pb.add(p + "ln2.w", {C}, ParamInit::Ones, false);
  pb.add(p + "ln2.b", {C}, ParamInit::Zeros, false);
  pb.add(p + "fc.w", {F, C}, ParamInit::Normal, true);
  pb.add(p + "fc.b", {F}, ParamInit::Zeros, false);
  pb.add(p + "fc2.w", {C, F}, ParamInit::Normal, true);
  pb.add(p + "fc2.b", {C}, ParamInit::Zeros, false);
}

void TransformerBlock::bind(ParamBuffer& pb, const ModelConfig& cfg, int layer, Device dev) {
  cfg_ = cfg;
  layer_ = layer;
  dev_ = dev;
  const std::string p = "block" + std::to_string(layer) + ".";
  auto w = [&](const char* n) { return pb.param_ptr(p + n); };
  auto g = [&](const char* n) { return pb.grad_ptr(p + n); };
  ln1_w_ = w("ln1.w"), ln1_b_ = w("ln1.b"), qkv_w_ = w("qkv.w"), qkv_b_ = w("qkv.b");
  proj_w_ = w("proj.w"), proj_b_ = w("proj.b"), ln2_w_ = w("ln2.w"), ln2_b_ = w("ln2.b");
  fc_w_ = w("fc.w"), fc_b_ = w("fc.b"), fc2_w_ = w("fc2.w"), fc2_b_ = w("fc2.b");
  dln1_w_ = g("ln1.w"), dln1_b_ = g("ln1.b"), dqkv_w_ = g("qkv.w"), dqkv_b_ = g("qkv.b");
  dproj_w_ = g("proj.w"), dproj_b_ = g("proj.b"), dln2_w_ = g("ln2.w"), dln2_b_ = g("ln2.b");
  dfc_w_ = g("fc.w"), dfc_b_ = g("fc.b"), dfc2_w_ = g("fc2.w"), dfc2_b_ = g("fc2.b");
  bf16_ = cfg.precision == "bf16";
}

static AttentionShape attention_shape(const ModelConfig& cfg, const Batch& b) {
  AttentionShape s;
  s.B = int(b.B);
  s.NH = cfg.num_heads;
  s.HS = cfg.head_size();
  s.causal = cfg.causal();
  s.cu_seqlens = b.cu_seqlens.data();
  return s;
}

void TransformerBlock::forward(const float* x, const Batch& b, const BatchArrays& a,
                               const BlockDropout& drop) {
  if (bf16_) return forward_bf16(x, b, a, drop);
  const int64_t N = b.N;
  const int C = cfg_.d_model, F = cfg_.ffn_dim();
  const float eps = cfg_.layernorm_eps;
  const uint64_t* keys = a.token_keys;
  ln1_.ensure(N, C, DType::F32, dev_);
  ln1_mean_.ensure(N, 1, DType::F32, dev_);
  ln1_rstd_.ensure(N, 1, DType::F32, dev_);
  qkv_.ensure(N, 3 * C, DType::F32, dev_);
  atty_.ensure(N, C, DType::F32, dev_);
  lse_.ensure(N, cfg_.num_heads, DType::F32, dev_);
  res2_.ensure(N, C, DType::F32, dev_);
  ln2_.ensure(N, C, DType::F32, dev_);
  ln2_mean_.ensure(N, 1, DType::F32, dev_);
  ln2_rstd_.ensure(N, 1, DType::F32, dev_);
  fch_.ensure(N, F, DType::F32, dev_);
  fch_gelu_.ensure(N, F, DType::F32, dev_);
  out_.ensure(N, C, DType::F32, dev_);

  layernorm_forward(dev_, ln1_.f(), ln1_mean_.f(), ln1_rstd_.f(), x, ln1_w_, ln1_b_, N, C, eps);
  matmul_forward(dev_, qkv_.f(), ln1_.f(), qkv_w_, qkv_b_, N, C, 3 * C);
  attention_forward(dev_, atty_.f(), lse_.f(), qkv_.f(), attention_shape(cfg_, b), drop.attn, keys);
  // The projection is written straight into the residual buffer, dropped in place, then x added:
  // backward needs neither the projection output nor its pre-dropout value.
  matmul_forward(dev_, res2_.f(), atty_.f(), proj_w_, proj_b_, N, C, C);
  if (drop.attn_out.p > 0.0f) dropout_forward(dev_, res2_.f(), res2_.f(), keys, N, C, drop.attn_out);
  add_inplace(dev_, res2_.f(), x, N * C);

  layernorm_forward(dev_, ln2_.f(), ln2_mean_.f(), ln2_rstd_.f(), res2_.f(), ln2_w_, ln2_b_, N, C, eps);
  matmul_forward(dev_, fch_.f(), ln2_.f(), fc_w_, fc_b_, N, C, F);
  gelu_forward(dev_, fch_gelu_.f(), fch_.f(), N * F);
  matmul_forward(dev_, out_.f(), fch_gelu_.f(), fc2_w_, fc2_b_, N, F, C);
  if (drop.ffn_out.p > 0.0f) dropout_forward(dev_, out_.f(), out_.f(), keys, N, C, drop.ffn_out);
  add_inplace(dev_, out_.f(), res2_.f(), N * C);
}

// The same block with bf16 GEMM inputs and attention: LayerNorm and GELU round their outputs once
// as they write them, the qkv product is rounded block by block for attention, and the weights are
// rounded once here for this forward and the backward after it.
void TransformerBlock::forward_bf16(const float* x, const Batch& b, const BatchArrays& a,
                                    const BlockDropout& drop) {
  const int64_t N = b.N;
  const int C = cfg_.d_model, F = cfg_.ffn_dim();
  const int64_t CC = int64_t(C) * C, FC = int64_t(F) * C;
  const float eps = cfg_.layernorm_eps;
  const uint64_t* keys = a.token_keys;
  w16_.ensure(1, 4 * CC + 2 * FC, DType::BF16, dev_);
  ln1_.ensure(N, C, DType::BF16, dev_);
  ln1_mean_.ensure(N, 1, DType::F32, dev_);
  ln1_rstd_.ensure(N, 1, DType::F32, dev_);
  qkv_.ensure(N, 3 * C, DType::F32, dev_);
  qkv16_.ensure(N, 3 * C, DType::BF16, dev_);
  atty16_.ensure(N, C, DType::BF16, dev_);
  lse_.ensure(N, cfg_.num_heads, DType::F32, dev_);
  res2_.ensure(N, C, DType::F32, dev_);
  ln2_.ensure(N, C, DType::BF16, dev_);
  ln2_mean_.ensure(N, 1, DType::F32, dev_);
  ln2_rstd_.ensure(N, 1, DType::F32, dev_);
  fch_.ensure(N, F, DType::F32, dev_);
  fch_gelu_.ensure(N, F, DType::BF16, dev_);
  out_.ensure(N, C, DType::F32, dev_);

  bf16* qkv_w16 = w16_.t.data<bf16>();
  bf16* proj_w16 = qkv_w16 + 3 * CC;
  bf16* fc_w16 = proj_w16 + CC;
  bf16* fc2_w16 = fc_w16 + FC;
  cast_to_bf16(dev_, qkv_w16, qkv_w_, 3 * CC);
  cast_to_bf16(dev_, proj_w16, proj_w_, CC);
  cast_to_bf16(dev_, fc_w16, fc_w_, FC);
  cast_to_bf16(dev_, fc2_w16, fc2_w_, FC);

  bf16* ln1 = ln1_.t.data<bf16>();
  bf16* q16 = qkv16_.t.data<bf16>();
  bf16* o16 = atty16_.t.data<bf16>();
  bf16* ln2 = ln2_.t.data<bf16>();
  bf16* gelu = fch_gelu_.t.data<bf16>();
  layernorm_forward(dev_, ln1, ln1_mean_.f(), ln1_rstd_.f(), x, ln1_w_, ln1_b_, N, C, eps);
  matmul_forward(dev_, qkv_.f(), ln1, qkv_w16, qkv_b_, N, C, 3 * C, q16);
  attention_forward(dev_, o16, lse_.f(), q16, attention_shape(cfg_, b), drop.attn, keys);
  matmul_forward(dev_, res2_.f(), o16, proj_w16, proj_b_, N, C, C);
  if (drop.attn_out.p > 0.0f) dropout_forward(dev_, res2_.f(), res2_.f(), keys, N, C, drop.attn_out);
  add_inplace(dev_, res2_.f(), x, N * C);

  layernorm_forward(dev_, ln2, ln2_mean_.f(), ln2_rstd_.f(), res2_.f(), ln2_w_, ln2_b_, N, C, eps);
  matmul_forward(dev_, fch_.f(), ln2, fc_w16, fc_b_, N, C, F);
  gelu_forward(dev_, gelu, fch_.f(), N * F);
  matmul_forward(dev_, out_.f(), gelu, fc2_w16, fc2_b_, N, F, C);
  if (drop.ffn_out.p > 0.0f) dropout_forward(dev_, out_.f(), out_.f(), keys, N, C, drop.ffn_out);
  add_inplace(dev_, out_.f(), res2_.f(), N * C);
}

void TransformerBlock::backward(float* dresid, const float* x, const Batch& b, const BatchArrays& a,
                                const BlockDropout& drop,
                                BlockScratch& s) {
  const int64_t N = b.N;
  const int C = cfg_.d_model, F = cfg_.ffn_dim();
  const int64_t CC = int64_t(C) * C, FC = int64_t(F) * C;
  const uint64_t* keys = a.token_keys;
  s.ensure(N, C, dev_);
  // precision bf16: the GEMM inputs saved by forward_bf16, the gradients rounded inside the products
  const bf16* qkv_w16 = bf16_ ? w16_.t.data<bf16>() : nullptr;
  const bf16* proj_w16 = bf16_ ? qkv_w16 + 3 * CC : nullptr;
  const bf16* fc_w16 = bf16_ ? proj_w16 + CC : nullptr;
  const bf16* fc2_w16 = bf16_ ? fc_w16 + FC : nullptr;

  // FFN branch. Dropout backward = dropout forward of the gradient (written, so no zeroing).
  const float* dfc2_out = dresid;
  if (drop.ffn_out.p > 0.0f) {
    dropout_forward(dev_, s.dC.f(), dresid, keys, N, C, drop.ffn_out);
    dfc2_out = s.dC.f();
  }
  float* dgelu = s.d4C.f();  // (N, 4C)
  fill(dev_, dgelu, N * F, 0.0f);
  if (bf16_)
    matmul_backward(dev_, dgelu, dfc2_w_, dfc2_b_, dfc2_out, fch_gelu_.t.data<bf16>(), fc2_w16, N, F, C);
  else
    matmul_backward(dev_, dgelu, dfc2_w_, dfc2_b_, dfc2_out, fch_gelu_.f(), fc2_w_, N, F, C);
  float* dfch = s.d4C2.f();  // (N, 4C)
  fill(dev_, dfch, N * F, 0.0f);
  gelu_backward(dev_, dfch, fch_.f(), dgelu, N * F);
  float* dln2 = s.dC2.f();   // (N, C)
  fill(dev_, dln2, N * C, 0.0f);
  if (bf16_)
    matmul_backward(dev_, dln2, dfc_w_, dfc_b_, dfch, ln2_.t.data<bf16>(), fc_w16, N, C, F);
  else
    matmul_backward(dev_, dln2, dfc_w_, dfc_b_, dfch, ln2_.f(), fc_w_, N, C, F);
  layernorm_backward(dev_, dresid, dln2_w_, dln2_b_, dln2, res2_.f(), ln2_w_, ln2_mean_.f(),
                     ln2_rstd_.f(), N, C);  // dresid is now d res2

  // Attention branch.
  const float* dproj_out = dresid;
  if (drop.attn_out.p > 0.0f) {
    dropout_forward(dev_, s.dC.f(), dresid, keys, N, C, drop.attn_out);
    dproj_out = s.dC.f();
  }
  float* datty = s.dC2.f();  // (N, C)
  fill(dev_, datty, N * C, 0.0f);
  float* dln1 = s.dC.f();    // (N, C)
  if (bf16_) {
    s.dC16.ensure(N, C, DType::BF16, dev_);
    s.d3C16.ensure(N, 3 * C, DType::BF16, dev_);
    bf16* dout16 = s.dC16.t.data<bf16>();
    bf16* dqkv16 = s.d3C16.t.data<bf16>();
    matmul_backward(dev_, datty, dproj_w_, dproj_b_, dproj_out, atty16_.t.data<bf16>(), proj_w16, N, C, C);
    cast_to_bf16(dev_, dout16, datty, N * C);
    s.d3C16.t.zero_();
    attention_backward(dev_, dqkv16, dout16, qkv16_.t.data<bf16>(), atty16_.t.data<bf16>(), lse_.f(),
                       attention_shape(cfg_, b), drop.attn, keys);
    fill(dev_, dln1, N * C, 0.0f);
    matmul_backward(dev_, dln1, dqkv_w_, dqkv_b_, dqkv16, ln1_.t.data<bf16>(), qkv_w16, N, C, 3 * C);
  } else {
    matmul_backward(dev_, datty, dproj_w_, dproj_b_, dproj_out, atty_.f(), proj_w_, N, C, C);
    float* dqkv = s.d3C.f();   // (N, 3C)
    fill(dev_, dqkv, N * 3 * C, 0.0f);
    attention_backward(dev_, dqkv, datty, qkv_.f(), atty_.f(), lse_.f(), attention_shape(cfg_, b),
                       drop.attn, keys);
    fill(dev_, dln1, N * C, 0.0f);
    matmul_backward(dev_, dln1, dqkv_w_, dqkv_b_, dqkv, ln1_.f(), qkv_w_, N, C, 3 * C);
  }
  layernorm_backward(dev_, dresid, dln1_w_, dln1_b_, dln1, x, ln1_w_, ln1_mean_.f(), ln1_rstd_.f(), N,
                     C);  // dresid is now d x
}

}  // namespace seqmend
