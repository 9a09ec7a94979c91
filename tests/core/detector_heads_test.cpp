// Detector heads + focal loss against finite differences of a double reference, and the whole
// detector's encoder gradient (through ItemTransformer::backward_from_hidden) against float differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/detector.h"
#include "kernels/focal_loss.h"
#include "tests/support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::numeric_grad;

double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z))); }
double ref_focal(double x, double y, double alpha, double gamma) {
  const double lp = -softplus(-x), lq = -softplus(x);
  const double p = std::exp(lp), p1 = std::exp(lq);
  const double ce = -(y * lp + (1 - y) * lq);
  const double q = p * (1 - y) + p1 * y;
  const double at = alpha < 0 ? 1.0 : alpha * y + (1 - alpha) * (1 - y);
  return at * std::pow(q, gamma) * ce;
}
double ref_gelu(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

// head(inp) in double, parameters read from the flat buffer x at the entries' offsets.
double ref_head(const std::vector<double>& x, const ParamBuffer& pb, const std::string& name, const double* inp,
                int C, int D) {
  const double* w2 = x.data() + pb.entry(name + ".fc2.w").offset;
  const double b2 = x[size_t(pb.entry(name + ".fc2.b").offset)];
  if (D == 0) {
    double z = b2;
    for (int c = 0; c < C; ++c) z += w2[c] * inp[c];
    return z;
  }
  const double* w1 = x.data() + pb.entry(name + ".fc1.w").offset;
  const double* b1 = x.data() + pb.entry(name + ".fc1.b").offset;
  double out = b2;
  for (int d = 0; d < D; ++d) {
    double z = b1[d];
    for (int c = 0; c < C; ++c) z += w1[d * C + c] * inp[c];
    out += w2[d] * ref_gelu(z);
  }
  return out;
}

struct Case {
  Batch b;
  DetectorTargets y;
};

Case make_case(int64_t N_per[3], uint64_t seed) {
  Case k;
  k.b.B = 3;
  k.b.cu_seqlens = {0};
  for (int s = 0; s < 3; ++s) k.b.cu_seqlens.push_back(k.b.cu_seqlens.back() + N_per[s]);
  k.b.N = k.b.cu_seqlens.back();
  Rng r(seed);
  for (int64_t t = 0; t < k.b.N; ++t) {
    k.y.event_y.push_back(r.uniform() < 0.3f);
    k.y.event_w.push_back(r.uniform() < 0.8f);
    k.y.gap_y.push_back(r.uniform() < 0.3f);
    k.y.gap_w.push_back(1.0f);
  }
  k.y.seq_y = {1, 0, 1};
  k.y.seq_w = {1, 1, 0};
  return k;
}

double ref_loss(const std::vector<double>& x, const ParamBuffer& pb, const Batch& b, const DetectorTargets& y,
                int C, int D, const DetectorConfig& dc) {
  const int64_t P = pb.numel();
  const double* H = x.data() + P;
  double le = 0, lg = 0, ls = 0;
  for (int64_t t = 0; t < b.N; ++t) {
    le += y.event_w[size_t(t)] * ref_focal(ref_head(x, pb, "event", H + t * C, C, D), y.event_y[size_t(t)],
                                           dc.focal_alpha, dc.focal_gamma);
    lg += y.gap_w[size_t(t)] *
          ref_focal(ref_head(x, pb, "gap", H + t * C, C, D), y.gap_y[size_t(t)], dc.focal_alpha, dc.focal_gamma);
  }
  for (int64_t s = 0; s < b.B; ++s) {
    std::vector<double> pool(size_t(C), 0.0);
    const int64_t lo = b.cu_seqlens[size_t(s)], hi = b.cu_seqlens[size_t(s) + 1];
    for (int64_t t = lo; t < hi; ++t)
      for (int c = 0; c < C; ++c) pool[size_t(c)] += H[t * C + c] / double(hi - lo);
    ls += y.seq_w[size_t(s)] * ref_focal(ref_head(x, pb, "sequence", pool.data(), C, D), y.seq_y[size_t(s)],
                                         dc.focal_alpha, dc.focal_gamma);
  }
  return dc.event_weight * le / y.event_count() + dc.gap_weight * lg / y.gap_count() +
         dc.sequence_weight * ls / y.seq_count();
}

// The heads' part of Detector::forward/backward on a given H: loss, head gradients, dH (N, C).
double heads_loss_and_grads(DetectorHeads& h, const float* H, const Batch& b, const DetectorTargets& y,
                            const DetectorConfig& dc, int C, std::vector<float>& dH) {
  h.params().zero_grads();
  h.forward(H, b);
  std::vector<float> de(size_t(b.N), 0.0f), dg(size_t(b.N), 0.0f), ds(size_t(b.B), 0.0f);
  auto one = [&](const float* logits, const std::vector<float>& yy, const std::vector<float>& ww, double w,
                 float* d) {
    FocalArgs a;
    a.logits = logits;
    a.targets = yy.data();
    a.weights = ww.data();
    a.n = int64_t(yy.size());
    a.alpha = float(dc.focal_alpha);
    a.gamma = float(dc.focal_gamma);
    const double cnt = std::accumulate(ww.begin(), ww.end(), 0.0);
    return w * sigmoid_focal_loss(Device::CPU, a, d, float(w / cnt)) / cnt;
  };
  const double L = one(h.event_logits(), y.event_y, y.event_w, dc.event_weight, de.data()) +
                   one(h.gap_logits(), y.gap_y, y.gap_w, dc.gap_weight, dg.data()) +
                   one(h.seq_logits(), y.seq_y, y.seq_w, dc.sequence_weight, ds.data());
  dH.assign(size_t(b.N) * size_t(C), 0.0f);
  h.backward(dH.data(), b, de.data(), dg.data(), ds.data());
  return L;
}

class DetectorHeadsGrad : public ::testing::TestWithParam<int> {};  // param: hidden width D

TEST_P(DetectorHeadsGrad, MatchesDoubleReference) {
  const int C = 6, D = GetParam();
  DetectorConfig dc;
  dc.heads.hidden = D;
  dc.heads.init_std = 0.5f;  // large enough that every path carries a visible gradient
  dc.focal_alpha = 0.3;
  dc.focal_gamma = 1.5;
  dc.event_weight = 1.0;
  dc.gap_weight = 0.7;
  dc.sequence_weight = 1.3;
  DetectorHeads h(dc.heads, C);
  // Non-zero biases too, so their gradients are checked away from the zero init.
  {
    Rng r(5);
    for (const ParamEntry& e : h.params().entries())
      if (e.init == ParamInit::Zeros) {
        float* p = h.params().param_ptr(e.name);
        for (int64_t i = 0; i < e.numel; ++i) p[i] = r.uniform() - 0.5f;
      }
  }
  int64_t lens[3] = {4, 1, 5};
  Case k = make_case(lens, 11);
  std::vector<float> H = test::random_floats(size_t(k.b.N) * C, 3, -1.5f, 1.5f);

  std::vector<float> dH;
  const double L = heads_loss_and_grads(h, H.data(), k.b, k.y, dc, C, dH);

  const int64_t P = h.params().numel();
  std::vector<double> x(size_t(P) + H.size());
  const float* p = h.params().params().data<float>();
  for (int64_t i = 0; i < P; ++i) x[size_t(i)] = p[i];
  for (size_t i = 0; i < H.size(); ++i) x[size_t(P) + i] = H[i];
  auto f = [&](const std::vector<double>& xx) { return ref_loss(xx, h.params(), k.b, k.y, C, D, dc); };
  EXPECT_NEAR(L, f(x), 1e-5 * std::max(1.0, std::fabs(L)));
  const std::vector<double> g = numeric_grad(f, x);

  std::vector<double> want_p(g.begin(), g.begin() + P), want_h(g.begin() + P, g.end());
  const float* gp = h.params().grads().data<float>();
  std::vector<float> got_p(gp, gp + P);
  expect_close(got_p, want_p, 2e-3, 2e-5, "head parameter gradients");
  expect_close(dH, want_h, 2e-3, 2e-5, "dH");
  // The check must see real gradients on every head.
  for (const char* name : {"event.fc2.w", "gap.fc2.w", "sequence.fc2.w"}) {
    const ParamEntry& e = h.params().entry(name);
    double n2 = 0;
    for (int64_t i = 0; i < e.numel; ++i) n2 += std::fabs(gp[e.offset + i]);
    EXPECT_GT(n2, 1e-4) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(HiddenWidth, DetectorHeadsGrad, ::testing::Values(0, 5));

// The whole detector, encoder included: the analytic gradient of the largest encoder entries
// against central differences of Detector::forward (float model, so a loose tolerance).
TEST(Detector, EncoderGradientMatchesFiniteDifferences) {
  ModelConfig mc;
  mc.num_items = 12;
  mc.max_len = 8;
  mc.d_model = 8;
  mc.num_layers = 1;
  mc.num_heads = 2;
  mc.emb_dropout = mc.hidden_dropout = mc.attn_dropout = 0.0f;
  mc.init_std = 0.3f;
  DetectorConfig dc;
  dc.heads.hidden = 4;
  dc.heads.init_std = 0.5f;
  dc.focal_gamma = 1.0;
  Detector det(mc, dc);

  std::vector<std::vector<int32_t>> items = {{1, 4, 7, 2}, {3, 3, 9}, {5, 11, 12, 6, 8}};
  std::vector<SequenceView> views;
  for (size_t i = 0; i < items.size(); ++i) views.push_back({items[i], {}, {}, int64_t(i)});
  Batch b = make_plain_batch(views, mc);
  int64_t lens[3] = {4, 3, 5};
  Case k = make_case(lens, 21);

  DetectorForward fw;
  fw.train = false;
  det.encoder().params().zero_grads();
  det.heads().params().zero_grads();
  const double L0 = det.forward(b, k.y, fw).total;
  ASSERT_TRUE(std::isfinite(L0));
  det.backward(b);
  ParamBuffer& pb = det.encoder().params();
  const int64_t P = pb.numel();
  std::vector<float> g(pb.grads().data<float>(), pb.grads().data<float>() + P);
  std::vector<int64_t> order(static_cast<size_t>(P));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + 20, order.end(),
                    [&](int64_t a, int64_t c) { return std::fabs(g[size_t(a)]) > std::fabs(g[size_t(c)]); });
  ASSERT_GT(std::fabs(g[size_t(order[0])]), 1e-3);
  float* p = pb.params().data<float>();
  fw.need_grads = false;
  for (int i = 0; i < 20; ++i) {
    const int64_t j = order[size_t(i)];
    const float keep = p[j], h = 1e-2f;
    p[j] = keep + h;
    const double up = det.forward(b, k.y, fw).total;
    p[j] = keep - h;
    const double down = det.forward(b, k.y, fw).total;
    p[j] = keep;
    const double num = (up - down) / (2.0 * double(h));
    EXPECT_NEAR(g[size_t(j)], num, 0.03 * std::fabs(num) + 2e-4) << "encoder element " << j;
  }
  // Frozen: no encoder gradient at all, heads still get theirs.
  DetectorConfig frozen = dc;
  frozen.freeze_encoder = true;
  Detector det2(mc, frozen);
  det2.encoder().params().zero_grads();
  fw.need_grads = true;
  det2.forward(b, k.y, fw);
  det2.backward(b);
  const float* g2 = det2.encoder().params().grads().data<float>();
  EXPECT_TRUE(std::all_of(g2, g2 + P, [](float v) { return v == 0.0f; }));
  const float* gh = det2.heads().params().grads().data<float>();
  EXPECT_TRUE(std::any_of(gh, gh + det2.heads().params().numel(), [](float v) { return v != 0.0f; }));
}

TEST(Detector, TargetsFollowLabelCodesAndTruncation) {
  SequenceSet s;
  const int32_t it[6] = {1, 2, 3, 4, 5, 6};
  const int8_t lab[6] = {kLabelClean, kLabelNoiseClick, kLabelGapAfter, kLabelSubstitution, kLabelBurstRepeat,
                         kLabelClean};
  s.append(0, it, 6, nullptr, nullptr, lab, kLabelClean);
  const int8_t bot[3] = {kLabelBotPush, kLabelBotPush, kLabelBotPush};
  s.append(1, it, 3, nullptr, nullptr, bot, kLabelBotPush);
  ModelConfig mc;
  mc.num_items = 6;
  mc.max_len = 4;  // sequence 0 keeps its newest 4 events: gap, substitution, burst, clean
  std::vector<SequenceView> v = {{std::span(s.item).subspan(0, 6), {}, {}, 0},
                                 {std::span(s.item).subspan(6, 3), {}, {}, 1}};
  Batch b = make_plain_batch(v, mc);
  DetectorTargets y = detector_targets(b, s, {0, 1});
  EXPECT_EQ(y.event_y, (std::vector<float>{0, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(y.event_w, (std::vector<float>{1, 1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(y.gap_y, (std::vector<float>{1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(y.seq_y, (std::vector<float>{0, 1}));
  EXPECT_EQ(y.seq_w, (std::vector<float>{1, 1}));
}

}  // namespace
}  // namespace seqmend
