#include "core/model.h"

#include <cmath>

#include "core/dropout_sites.h"
#include "kernels/gather_rows.h"
#include "kernels/layernorm.h"
#include "kernels/softmax_xent.h"

namespace seqmend {

ItemTransformer::ItemTransformer(const ModelConfig& cfg, Device dev) : cfg_(cfg), dev_(dev) {
  cfg_.validate();
  InputEmbedding::register_params(pb_, cfg_);
  for (int l = 0; l < cfg_.num_layers; ++l) {
    block_first_entry_.push_back(pb_.entries().size());
    TransformerBlock::register_params(pb_, cfg_, l);
  }
  final_first_entry_ = pb_.entries().size();
  pb_.add("final.ln.w", {cfg_.d_model}, ParamInit::Ones, false);
  pb_.add("final.ln.b", {cfg_.d_model}, ParamInit::Zeros, false);
  pb_.add("out.bias", {cfg_.table_rows()}, ParamInit::Zeros, false);
  pb_.allocate(dev_);
  pb_.init(cfg_.seed, cfg_.init_std);

  emb_.bind(pb_, cfg_, dev_);
  blocks_.resize(size_t(cfg_.num_layers));
  for (int l = 0; l < cfg_.num_layers; ++l) blocks_[size_t(l)].bind(pb_, cfg_, l, dev_);
  lnf_w_ = pb_.param_ptr("final.ln.w");
  lnf_b_ = pb_.param_ptr("final.ln.b");
  out_bias_ = pb_.param_ptr("out.bias");
  dlnf_w_ = pb_.grad_ptr("final.ln.w");
  dlnf_b_ = pb_.grad_ptr("final.ln.b");
  dout_bias_ = pb_.grad_ptr("out.bias");
}

static BlockDropout block_dropout(const ModelConfig& cfg, int l, bool train, uint64_t seed) {
  return {dropout_site(cfg.attn_dropout, train, seed, site_attention(l)),
          dropout_site(cfg.hidden_dropout, train, seed, site_attention_out(l)),
          dropout_site(cfg.hidden_dropout, train, seed, site_ffn_out(l))};
}

void ItemTransformer::encode(const Batch& b, bool train, uint64_t dropout_seed) {
  try {
    b.validate(cfg_);
  } catch (const Error& e) {
    SEQ_FAIL("ItemTransformer forward: invalid batch: ", e.what());
  }
  const BatchArrays& a = db_.upload(b, dev_);
  x0_.ensure(b.N, cfg_.d_model, DType::F32, dev_);
  emb_.forward(x0_.f(), b, a, dropout_site(cfg_.emb_dropout, train, dropout_seed, kSiteEmbedding));
  const float* x = x0_.f();
  for (int l = 0; l < cfg_.num_layers; ++l) {
    blocks_[size_t(l)].forward(x, b, a, block_dropout(cfg_, l, train, dropout_seed));
    x = blocks_[size_t(l)].out();
  }
}

const float* ItemTransformer::encoder_out() const {
  return blocks_.empty() ? x0_.f() : blocks_.back().out();
}

void ItemTransformer::gather_final_ln(const Batch& b, const std::vector<int64_t>& rows) {
  const int64_t R = int64_t(rows.size());
  const int C = cfg_.d_model;
  head_in_.ensure(R, C, DType::F32, dev_);
  head_mean_.ensure(R, 1, DType::F32, dev_);
  head_rstd_.ensure(R, 1, DType::F32, dev_);
  head_.ensure(R, C, DType::F32, dev_);
  for (int64_t r = 0; r < R; ++r)  // here, so the CUDA gather can trust the list
    SEQ_CHECK(rows[size_t(r)] >= 0 && rows[size_t(r)] < b.N, "ItemTransformer: row ", r, " asks for token ",
              rows[size_t(r)], " of a batch with N=", b.N, " tokens");
  gathered_rows_ = db_.rows(rows, dev_);
  gathered_count_ = R;
  gather_rows(dev_, head_in_.f(), encoder_out(), gathered_rows_, R, C, b.N);
  layernorm_forward(dev_, head_.f(), head_mean_.f(), head_rstd_.f(), head_in_.f(), lnf_w_, lnf_b_, R, C,
                    cfg_.layernorm_eps);
}

double ItemTransformer::forward(const Batch& b, const ForwardOptions& opt) {
  const int64_t M = b.M();
  SEQ_CHECK(M > 0, "ItemTransformer forward: the batch has no target rows (B=", b.B, ", N=", b.N, ")");
  for (int64_t m = 0; m < M; ++m)
    SEQ_CHECK(b.target_items[size_t(m)] >= 1 && b.target_items[size_t(m)] <= cfg_.num_items,
              "ItemTransformer forward: target ", m, " (token ", b.target_rows[size_t(m)], ") has item id ",
              b.target_items[size_t(m)], ", outside [1, num_items=", cfg_.num_items, "]");
  train_ = opt.train;
  dropout_seed_ = opt.dropout_seed;
  have_grads_ = false;
  M_ = M;
  encode(b, opt.train, opt.dropout_seed);
  gather_final_ln(b, b.target_rows);

  const int C = cfg_.d_model;
  XentArgs a;
  a.hidden = head_.f();
  a.table = pb_.param_ptr("emb.item");
  a.bias = out_bias_;
  a.targets = db_.arrays().target_items;
  a.M = M;
  a.C = C;
  a.V = cfg_.num_items;
  a.first = 1;
  a.chunk_rows = opt.xent_chunk_rows;
  a.prec = cfg_.precision == "bf16" ? MatmulPrecision::bf16 : MatmulPrecision::f32;
  XentGrads g;
  if (opt.need_grads) {
    dhead_.ensure(M, C, DType::F32, dev_);
    dhead_.t.zero_();
    g.dhidden = dhead_.f();
    g.dtable = pb_.grad_ptr("emb.item");
    g.dbias = dout_bias_;
    g.scale = float(1.0 / (opt.loss_denominator > 0.0 ? opt.loss_denominator : double(M)));
  }
  double sum = 0.0;
  try {
    sum = softmax_xent(dev_, a, g);
  } catch (const Error& e) {
    report_nonfinite(e.what());
  }
  const double loss = sum / (opt.loss_denominator > 0.0 ? opt.loss_denominator : double(M));
  if (!std::isfinite(loss)) report_nonfinite(str("softmax_xent: loss is ", loss));
  have_grads_ = opt.need_grads;
  return loss;
}

void ItemTransformer::backward(const Batch& b) {
  SEQ_CHECK(have_grads_, "ItemTransformer backward: needs a preceding forward with need_grads");
  SEQ_CHECK(b.M() == M_ && int64_t(x0_.t.size(0)) == b.N,
            "ItemTransformer backward: the batch differs from the one given to forward (M ", b.M(), " vs ", M_,
            ")");
  have_grads_ = false;
  backward_rows(b);
}

void ItemTransformer::backward_rows(const Batch& b) {
  const int64_t N = b.N, M = gathered_count_;
  const int C = cfg_.d_model;
  scratch_.ensure(N, C, dev_);

  // Final LayerNorm at the gathered rows, then scatter into the (otherwise zero) residual gradient.
  dhead_in_.ensure(M, C, DType::F32, dev_);
  dhead_in_.t.zero_();
  layernorm_backward(dev_, dhead_in_.f(), dlnf_w_, dlnf_b_, dhead_.f(), head_in_.f(), lnf_w_,
                     head_mean_.f(), head_rstd_.f(), M, C);
  dresid_.ensure(N, C, DType::F32, dev_);
  dresid_.t.zero_();
  float* dres = dresid_.f();
  scatter_rows(dev_, dres, dhead_in_.f(), gathered_rows_, M, C, N);  // distinct rows: copy = sum
  if (grad_ready_) grad_ready_(final_first_entry_);  // final LN done; out.bias was done in forward

  for (int l = cfg_.num_layers - 1; l >= 0; --l) {
    const float* x = l == 0 ? x0_.f() : blocks_[size_t(l) - 1].out();
    blocks_[size_t(l)].backward(dres, x, b, db_.arrays(), block_dropout(cfg_, l, train_, dropout_seed_),
                                scratch_);
    if (grad_ready_) grad_ready_(block_first_entry_[size_t(l)]);
  }
  emb_.backward(dres, b, db_.arrays(), dropout_site(cfg_.emb_dropout, train_, dropout_seed_, kSiteEmbedding),
                scratch_.dC.f());
  if (grad_ready_) grad_ready_(0);
}

const Tensor& ItemTransformer::encode_hidden(const Batch& b, bool train, uint64_t dropout_seed) {
  train_ = train;
  dropout_seed_ = dropout_seed;
  have_grads_ = false;
  encode(b, train, dropout_seed);
  all_rows_.resize(size_t(b.N));
  for (int64_t n = 0; n < b.N; ++n) all_rows_[size_t(n)] = n;
  gather_final_ln(b, all_rows_);
  M_ = -1;  // marks "encoded, not forward": backward() refuses, backward_from_hidden accepts
  have_grads_ = true;
  return head_.t;
}

void ItemTransformer::backward_from_hidden(const Batch& b, const float* dH) {
  SEQ_CHECK(have_grads_ && M_ == -1, "ItemTransformer backward_from_hidden: needs a preceding encode_hidden");
  SEQ_CHECK(int64_t(x0_.t.size(0)) == b.N && int64_t(all_rows_.size()) == b.N,
            "ItemTransformer backward_from_hidden: the batch (N=", b.N, ") differs from the one given to "
            "encode_hidden (N=", all_rows_.size(), ")");
  have_grads_ = false;
  const int C = cfg_.d_model;
  dhead_.ensure(b.N, C, DType::F32, dev_);
  copy_bytes(dhead_.f(), dev_, dH, dev_, sizeof(float) * size_t(b.N) * size_t(C));
  backward_rows(b);
}

Tensor ItemTransformer::hidden_at(const Batch& b, const std::vector<int64_t>& rows) {
  have_grads_ = false;
  encode(b, false, 0);
  gather_final_ln(b, rows);
  return head_.t.to(Device::CPU);
}

double ItemTransformer::train_flops(const Batch& b) const {
  const double C = cfg_.d_model, L = cfg_.num_layers;
  double attn = 0.0;  // Σ over sequences of n² (causal: n(n + 1) / 2 scored pairs)
  for (int64_t s = 0; s < b.B; ++s) {
    const double n = double(b.seq_len(s));
    attn += cfg_.causal() ? n * (n + 1) / 2 : n * n;
  }
  const double dense = 2.0 * 12.0 * C * C * double(b.N);  // qkv 3C², proj C², fc 4C², fc2 4C²
  const double scores = 4.0 * attn * C;                   // QKᵀ and PV
  const double output = 2.0 * double(b.M()) * double(cfg_.num_items) * C;
  return 3.0 * (L * (dense + scores) + output);  // backward = 2 × forward
}

void ItemTransformer::report_nonfinite(const std::string& what) {
  // Walk the activations in forward order and name the first one holding a non-finite value.
  std::string where;
  auto scan = [&](const std::string& name, const Activation& a) {
    if (!where.empty() || !a.t.defined()) return;
    const Tensor host = a.t.cpu();
    const bool bf = host.dtype() == DType::BF16;  // precision bf16 keeps some activations in bf16
    const int64_t n = a.t.numel(), cols = a.t.size(1);
    for (int64_t i = 0; i < n; ++i) {
      const float v = bf ? to_float(host.data<bf16>()[i]) : host.data<float>()[i];
      if (!std::isfinite(v)) {
        where = str(name, " (row ", i / cols, ", column ", i % cols, ") = ", v);
        return;
      }
    }
  };
  scan("embedding.sum", emb_.sum());
  scan("embedding.out", x0_);
  for (const TransformerBlock& blk : blocks_) blk.each_activation(scan);
  scan("final_layernorm", head_);
  SEQ_FAIL("ItemTransformer forward: non-finite loss (", what, "); first non-finite activation: ",
           where.empty() ? std::string("none, the output layer itself overflowed") : where);
}

}  // namespace seqmend
