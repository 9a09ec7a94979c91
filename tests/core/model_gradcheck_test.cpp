// The whole model, loss included, against a double-precision reference: the f32 loss against the
// reference loss, and the f32 gradient of every parameter element against central finite
// differences of the reference (dropout on, masks from the same keep rule).
#include <gtest/gtest.h>

#include <cstring>

#include "core/base/rng.h"
#include "core/model.h"
#include "tests/core/reference_model.h"
#include "tests/support/gradcheck.h"

namespace seqmend {
namespace {

ModelConfig tiny_config(bool causal) {
  ModelConfig c;
  c.num_items = 13;
  c.max_len = 6;
  c.d_model = 8;
  c.num_layers = 2;
  c.num_heads = 2;
  c.emb_dropout = 0.2f;
  c.hidden_dropout = 0.25f;
  c.attn_dropout = 0.3f;
  c.num_actions = 3;
  c.num_gap_buckets = 5;
  c.objective = causal ? "causal" : "cloze";
  c.seed = 7;
  return c;
}

// Five users: a full window, a single event, an empty one (no tokens at all), a short one, and one
// longer than T (truncated).
struct TinyData {
  std::vector<std::vector<int32_t>> items{{3, 5, 7, 9, 11, 13}, {4}, {}, {2, 2, 8, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  std::vector<std::vector<int64_t>> ts{{0, 10, 100, 100, 5000, 90000}, {}, {}, {7, 6, 8, 1000}, {}};
  std::vector<std::vector<int8_t>> act{{1, 2, 1, 0, 2, 1}, {2}, {}, {}, {}};
  std::vector<SequenceView> views() const {
    std::vector<SequenceView> v;
    for (size_t i = 0; i < items.size(); ++i) v.push_back({items[i], ts[i], act[i], int64_t(100 + i)});
    return v;
  }
};

// Random parameters of a useful size (init_std 0.02 would leave most gradients near zero and the
// LayerNorm weights at exactly 1, which would hide bugs).
void randomise(ParamBuffer& pb, uint64_t seed) {
  std::vector<float> r = test::random_floats(size_t(pb.numel()), seed, -0.6f, 0.6f);
  float* p = pb.params().data<float>();
  for (const ParamEntry& e : pb.entries())
    for (int64_t j = 0; j < e.numel; ++j) {
      float v = r[size_t(e.offset + j)];
      p[e.offset + j] = e.name.find(".ln") != std::string::npos && e.name.back() == 'w' ? 1.0f + v : v;
    }
}

void check_model(bool causal) {
  const ModelConfig cfg = tiny_config(causal);
  ItemTransformer model(cfg);
  ParamBuffer& pb = model.params();
  randomise(pb, 11);
  TinyData data;
  ClozeOptions co;
  co.mask_prob = 0.4f;
  co.seed = 3;
  Batch b = make_cloze_batch(data.views(), cfg, co);
  ASSERT_EQ(b.B, 5);
  ASSERT_EQ(b.N, 6 + 1 + 4 + 6);
  ASSERT_GE(b.M(), 4);
  const uint64_t seed = 12345;

  pb.zero_grads();
  ForwardOptions fo;
  fo.dropout_seed = seed;
  const double loss = model.forward(b, fo);
  model.backward(b);

  test::ReferenceModel ref{cfg, pb};
  std::vector<double> w(size_t(pb.numel()));
  const float* p = pb.params().data<float>();
  for (int64_t i = 0; i < pb.numel(); ++i) w[size_t(i)] = p[i];
  const double ref_loss = ref.loss(w, b, true, seed);
  EXPECT_NEAR(loss, ref_loss, 2e-6 * std::fabs(ref_loss)) << "f32 loss vs double reference";
  // Dropout must actually be on: the same weights without it give a different loss.
  EXPECT_GT(std::fabs(ref.loss(w, b, false, seed) - ref_loss), 1e-3);

  const float* g = pb.grads().data<float>();
  for (const ParamEntry& e : pb.entries()) {
    std::vector<double> numeric(size_t(e.numel));
    for (int64_t j = 0; j < e.numel; ++j) {
      const size_t i = size_t(e.offset + j);
      const double keep = w[i], h = 1e-5;
      w[i] = keep + h;
      const double up = ref.loss(w, b, true, seed);
      w[i] = keep - h;
      const double down = ref.loss(w, b, true, seed);
      w[i] = keep;
      numeric[size_t(j)] = (up - down) / (2 * h);
    }
    std::vector<float> analytic(g + e.offset, g + e.offset + e.numel);
    test::expect_close(analytic, numeric, 2e-3, 2e-5, e.name + (causal ? " (causal)" : ""));
  }
}

TEST(ModelGradcheck, EveryParameterBidirectional) { check_model(false); }
TEST(ModelGradcheck, EveryParameterCausal) { check_model(true); }

TEST(ModelGradcheck, HiddenAtMatchesReferenceWithoutDropout) {
  const ModelConfig cfg = tiny_config(false);
  ItemTransformer model(cfg);
  randomise(model.params(), 5);
  TinyData data;
  Batch b = make_next_item_batch(data.views(), cfg);
  std::vector<int64_t> rows = {0, 3, b.N - 1};
  Tensor h = model.hidden_at(b, rows);
  ASSERT_EQ(h.shape(), (Shape{3, cfg.d_model}));
  test::ReferenceModel ref{cfg, model.params()};
  std::vector<double> w(size_t(model.params().numel()));
  for (int64_t i = 0; i < model.params().numel(); ++i) w[size_t(i)] = model.params().params().data<float>()[i];
  std::vector<double> all = ref.hidden(w, b, false, 0), want;
  for (int64_t r : rows) want.insert(want.end(), all.begin() + r * cfg.d_model, all.begin() + (r + 1) * cfg.d_model);
  std::vector<float> got(h.data<float>(), h.data<float>() + h.numel());
  test::expect_close(got, want, 1e-4, 1e-5, "hidden_at");
}

// The encoder-only path used by heads on top of the model: hidden states of every token, and every
// parameter gradient from an arbitrary dH (loss = Σ H ⊙ R, so dH = R).
TEST(ModelGradcheck, EncodeHiddenAndBackwardFromHidden) {
  const ModelConfig cfg = tiny_config(false);
  ItemTransformer model(cfg);
  ParamBuffer& pb = model.params();
  randomise(pb, 17);
  TinyData data;
  Batch b = make_cloze_batch(data.views(), cfg, {0.3f, 8, 1});
  const uint64_t seed = 99;
  const int C = cfg.d_model;
  std::vector<float> R = test::random_floats(size_t(b.N * C), 4);
  test::ReferenceModel ref{cfg, pb};
  std::vector<double> w(size_t(pb.numel()));
  for (int64_t i = 0; i < pb.numel(); ++i) w[size_t(i)] = pb.params().data<float>()[i];
  auto ref_loss = [&](const std::vector<double>& x) {
    std::vector<double> h = ref.hidden(x, b, true, seed);
    double s = 0;
    for (size_t i = 0; i < h.size(); ++i) s += h[i] * R[i];
    return s;
  };

  pb.zero_grads();
  const Tensor& H = model.encode_hidden(b, true, seed);
  ASSERT_EQ(H.shape(), (Shape{b.N, C}));
  std::vector<float> got(H.data<float>(), H.data<float>() + H.numel());
  test::expect_close(got, ref.hidden(w, b, true, seed), 1e-4, 1e-5, "encode_hidden");
  EXPECT_THROW(model.backward(b), Error);  // encode_hidden is not a loss forward
  model.backward_from_hidden(b, R.data());
  EXPECT_THROW(model.backward_from_hidden(b, R.data()), Error);  // one backward per encode

  const float* g = pb.grads().data<float>();
  for (const ParamEntry& e : pb.entries()) {
    std::vector<double> numeric(static_cast<size_t>(e.numel));
    for (int64_t j = 0; j < e.numel; ++j) {
      const size_t i = size_t(e.offset + j);
      const double keep = w[i], h = 1e-5;
      w[i] = keep + h;
      const double up = ref_loss(w);
      w[i] = keep - h;
      const double down = ref_loss(w);
      w[i] = keep;
      numeric[size_t(j)] = (up - down) / (2 * h);
    }
    std::vector<float> analytic(g + e.offset, g + e.offset + e.numel);
    test::expect_close(analytic, numeric, 2e-3, 2e-5, e.name + " (from hidden)");
  }
}

}  // namespace
}  // namespace seqmend
