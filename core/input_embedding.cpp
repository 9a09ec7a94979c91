#include "core/input_embedding.h"

#include "kernels/embedding.h"
#include "kernels/layernorm.h"

namespace seqmend {

void InputEmbedding::register_params(ParamBuffer& pb, const ModelConfig& cfg) {
  const int64_t C = cfg.d_model;
  pb.add("emb.item", {cfg.table_rows(), C}, ParamInit::Normal, true);
  pb.add("emb.pos", {cfg.max_len, C}, ParamInit::Normal, true);
  pb.add("emb.action", {cfg.num_actions, C}, ParamInit::Normal, true);
  pb.add("emb.gap", {cfg.num_gap_buckets, C}, ParamInit::Normal, true);
  pb.add("emb.ln.w", {C}, ParamInit::Ones, false);
  pb.add("emb.ln.b", {C}, ParamInit::Zeros, false);
}

void InputEmbedding::bind(ParamBuffer& pb, const ModelConfig& cfg, Device dev) {
  cfg_ = cfg;
  dev_ = dev;
  item_ = pb.param_ptr("emb.item");
  pos_ = pb.param_ptr("emb.pos");
  action_ = pb.param_ptr("emb.action");
  gap_ = pb.param_ptr("emb.gap");
  ln_w_ = pb.param_ptr("emb.ln.w");
  ln_b_ = pb.param_ptr("emb.ln.b");
  ditem_ = pb.grad_ptr("emb.item");
  dpos_ = pb.grad_ptr("emb.pos");
  daction_ = pb.grad_ptr("emb.action");
  dgap_ = pb.grad_ptr("emb.gap");
  dln_w_ = pb.grad_ptr("emb.ln.w");
  dln_b_ = pb.grad_ptr("emb.ln.b");
}

void InputEmbedding::forward(float* out, const Batch& b, const BatchArrays& a, const DropoutSpec& drop) {
  const int64_t N = b.N;
  const int C = cfg_.d_model;
  sum_.ensure(N, C, DType::F32, dev_);
  mean_.ensure(N, 1, DType::F32, dev_);
  rstd_.ensure(N, 1, DType::F32, dev_);
  // The id checks inside embedding_forward name the table and the offending token.
  embedding_forward(dev_, sum_.f(), a.item, item_, N, C, cfg_.table_rows(), false, "item_embedding");
  embedding_forward(dev_, sum_.f(), a.position, pos_, N, C, cfg_.max_len, true, "position_embedding");
  embedding_forward(dev_, sum_.f(), a.action, action_, N, C, cfg_.num_actions, true, "action_embedding");
  embedding_forward(dev_, sum_.f(), a.gap, gap_, N, C, cfg_.num_gap_buckets, true, "gap_embedding");
  layernorm_forward(dev_, out, mean_.f(), rstd_.f(), sum_.f(), ln_w_, ln_b_, N, C, cfg_.layernorm_eps);
  if (drop.p > 0.0f) dropout_forward(dev_, out, out, a.token_keys, N, C, drop);
}

void InputEmbedding::backward(const float* dout, const Batch& b, const BatchArrays& a,
                              const DropoutSpec& drop, float* scratch) {
  const int64_t N = b.N;
  const int C = cfg_.d_model;
  // The dropout backward is the forward applied to the gradient; writing (not accumulating) into
  // scratch saves zeroing it.
  const float* dln = dout;
  if (drop.p > 0.0f) {
    dropout_forward(dev_, scratch, dout, a.token_keys, N, C, drop);
    dln = scratch;
  }
  dsum_.ensure(N, C, DType::F32, dev_);
  dsum_.t.zero_();
  layernorm_backward(dev_, dsum_.f(), dln_w_, dln_b_, dln, sum_.f(), ln_w_, mean_.f(), rstd_.f(), N, C);
  embedding_backward(dev_, ditem_, dsum_.f(), a.item, N, C, cfg_.table_rows());
  embedding_backward(dev_, dpos_, dsum_.f(), a.position, N, C, cfg_.max_len);
  embedding_backward(dev_, daction_, dsum_.f(), a.action, N, C, cfg_.num_actions);
  embedding_backward(dev_, dgap_, dsum_.f(), a.gap, N, C, cfg_.num_gap_buckets);
}

}  // namespace seqmend
