#include <gtest/gtest.h>

#include "core/train_step.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace seqmend {
namespace {

struct TrainData {
  ModelConfig cfg;
  std::vector<std::vector<int32_t>> seqs;
  std::vector<SequenceView> views;
  TrainData() {
    cfg.num_items = 30;
    cfg.max_len = 12;
    cfg.d_model = 16;
    cfg.num_layers = 2;
    cfg.num_heads = 2;
    // Sequences with a learnable rule (item i is followed by i + 1) so masked items are predictable.
    for (int s = 0; s < 16; ++s) {
      seqs.emplace_back();
      for (int i = 0; i < 4 + s % 9; ++i) seqs.back().push_back(int32_t(1 + (s + i) % 30));
    }
    for (size_t s = 0; s < seqs.size(); ++s) views.push_back({seqs[s], {}, {}, int64_t(s)});
  }
};

std::vector<double> run(const TrainData& st, int steps, const std::string& precision = "f32") {
  ModelConfig cfg = st.cfg;
  cfg.precision = precision;
  Bert4Rec m(cfg);
  OptimizerConfig oc;
  oc.lr = 1e-2;
  oc.schedule = "linear";
  oc.warmup_steps = 5;
  oc.total_steps = steps;
  AdamWOptimizer opt(m.params(), oc);
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    // A fresh masking every step, and batches of different sizes (buffers grow and are reused).
    std::vector<SequenceView> v(st.views.begin(), st.views.begin() + (s % 2 ? 16 : 10));
    Batch b = make_cloze_batch(v, st.cfg, {0.2f, 1, uint64_t(s)});
    StepResult r = train_step(m, opt, b, s, 99);
    EXPECT_EQ(r.tokens, b.N);
    EXPECT_GT(r.grad_norm, 0.0);
    losses.push_back(r.loss);
  }
  return losses;
}

TEST(TrainStep, LossFallsAndRunsRepeatExactly) {
  TrainData st;
  std::vector<double> a = run(st, 100), b = run(st, 100);
  EXPECT_EQ(a, b);  // same seeds → bit-identical training
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += a[size_t(i)] / 10, last += a[a.size() - 1 - size_t(i)] / 10;
  EXPECT_LT(last, first - 0.7) << "mean loss of the first 10 steps " << first << ", last 10 " << last;
}

TEST(TrainStep, Bf16PrecisionTrainsLikeF32) {
  // bf16 GEMM inputs and attention: the same run within bf16's rounding, and still learning.
  TrainData st;
  const std::vector<double> f = run(st, 100), h = run(st, 100, "bf16"), h2 = run(st, 100, "bf16");
  EXPECT_EQ(h, h2);  // deterministic too
  EXPECT_NE(h, f);   // the rounding is really applied
  double worst = 0.0;
  for (size_t i = 0; i < 10; ++i) worst = std::max(worst, std::fabs(h[i] - f[i]) / f[i]);
  EXPECT_LT(worst, 0.02) << "relative loss difference over the first 10 steps";
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += h[size_t(i)] / 10, last += h[h.size() - 1 - size_t(i)] / 10;
  EXPECT_LT(last, first - 0.7) << "bf16: mean loss of the first 10 steps " << first << ", last 10 " << last;
  ModelConfig bad = st.cfg;
  bad.precision = "fp8";
  EXPECT_THROW(bad.validate(), Error);
}

}  // namespace
}  // namespace seqmend
