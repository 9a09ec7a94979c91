// Score fusion (experiments/score_fusion.h): the logistic regression recovers known weights, the
// fused score ranks better than any input when each carries part of the signal, repeat flags
// mark exact repeats only, and the weights survive JSON.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "experiments/detection_metrics.h"
#include "experiments/score_fusion.h"
#include "io/injectors.h"

namespace seqmend {
namespace {

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

struct Data {
  std::vector<float> p, s, r;
  std::vector<int8_t> codes;
  std::vector<uint8_t> positive;
};

// Labels drawn from P(y=1) = σ(a·logit(p) + b·s + d·r + c) with p, s and the 0/1 flag r
// (P(r=1) = 0.2) independent.
Data draw(double a, double b, double d_r, double c, int n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Data d;
  for (int i = 0; i < n; ++i) {
    const double l = 1.5 * z(g), s = 3.0 + 2.0 * z(g), r = u(g) < 0.2 ? 1.0 : 0.0;
    const bool y = u(g) < sigmoid(a * l + b * s + d_r * r + c);
    d.p.push_back(float(sigmoid(l)));
    d.s.push_back(float(s));
    d.r.push_back(float(r));
    d.codes.push_back(int8_t(y ? kLabelNoiseClick : kLabelClean));
    d.positive.push_back(y);
  }
  return d;
}

TEST(ScoreFusion, RecoversTheWeightsOfALogisticModel) {
  const Data d = draw(0.8, 1.2, 2.5, -6.0, 60000, 7);
  const FusionWeights w = fit_fusion(d.p, FusionInputs{d.s, d.r}, d.codes, event_head_codes());
  ASSERT_TRUE(w.fitted);
  EXPECT_NEAR(w.score, 0.8, 0.06);
  EXPECT_NEAR(w.surprisal, 1.2, 0.08);
  EXPECT_NEAR(w.repeat, 2.5, 0.2);
  EXPECT_NEAR(w.bias, -6.0, 0.4);
}

TEST(ScoreFusion, FusedScoreRanksBetterThanAnyInput) {
  const Data d = draw(1.0, 1.0, 2.0, -4.5, 20000, 3);
  ScoreFusion f;
  f.event = fit_fusion(d.p, FusionInputs{d.s, d.r}, d.codes, event_head_codes());
  DetectorScores sc;
  sc.event = d.p;
  f.apply(sc, FusionInputs{d.s, d.r});
  const double fused = roc_auc(sc.event, d.positive);
  EXPECT_GT(fused, roc_auc(d.p, d.positive) + 0.02);
  EXPECT_GT(fused, roc_auc(d.s, d.positive) + 0.02);
  EXPECT_GT(fused, roc_auc(d.r, d.positive) + 0.02);
  // Without the flag the same data ranks worse: it carries signal the other two lack.
  const std::vector<float> none(d.r.size(), 0.0f);
  ScoreFusion g;
  g.event = fit_fusion(d.p, FusionInputs{d.s, none}, d.codes, event_head_codes());
  DetectorScores sg;
  sg.event = d.p;
  g.apply(sg, FusionInputs{d.s, none});
  EXPECT_GT(fused, roc_auc(sg.event, d.positive) + 0.01);
  EXPECT_NEAR(g.event.repeat, 0.0, 1e-9) << "a constant feature gets no weight";
  for (float x : sc.event) ASSERT_TRUE(x >= 0.0f && x <= 1.0f);
}

TEST(ScoreFusion, RepeatFlagsMarkTheSameItemAndActionAsThePreviousEvent) {
  SequenceSet set;
  set.offsets = {0, 4, 6};
  set.item = {5, 5, 5, 7, 7, 5};
  set.action = {1, 1, 2, 2, 2, 2};
  set.user = {0, 1};
  // 5/1 → 5/1 repeat; 5/2 is another action (a funnel step); 7 is new; across sequences: none.
  EXPECT_EQ(repeat_flags(set), (std::vector<float>{0, 1, 0, 0, 0, 0}));
  set.action.clear();  // no actions: the item alone decides
  EXPECT_EQ(repeat_flags(set), (std::vector<float>{0, 1, 1, 0, 0, 0}));
}

TEST(ScoreFusion, CodesOutsideTheHeadAreLeftOutAndOneClassIsNotFitted) {
  // Bot events carry the strongest signal here but belong to no event-head class: ignoring them
  // leaves nothing to learn from the surprisal.
  std::vector<float> p{0.1f, 0.2f, 0.3f, 0.4f, 0.9f, 0.8f}, s{1, 1, 1, 1, 50, 50};
  std::vector<int8_t> codes{kLabelClean, kLabelNoiseClick, kLabelClean, kLabelNoiseClick, kLabelBotUniform,
                            kLabelBotUniform};
  const std::vector<float> r(6, 0.0f);
  const FusionWeights w = fit_fusion(p, FusionInputs{s, r}, codes, event_head_codes());
  ASSERT_TRUE(w.fitted);
  EXPECT_NEAR(w.surprisal, 0.0, 1e-6);
  std::vector<int8_t> clean(6, kLabelClean);
  EXPECT_FALSE(fit_fusion(p, FusionInputs{s, r}, clean, event_head_codes()).fitted);
  // An unfitted head leaves scores as they are.
  EXPECT_EQ(FusionWeights{}.apply(0.37f, 9.0f, 1.0f), 0.37f);
}

TEST(ScoreFusion, JsonRoundTrip) {
  ScoreFusion f;
  f.event = {true, 0.5, 1.25, 2.0, -3.0, 0.25, -0.5, 0.125};
  f.surprisal_passes = 4;
  f.cooccurrence = true;
  const ScoreFusion g = ScoreFusion::from_json(nlohmann::json::parse(f.to_json().dump()));
  EXPECT_TRUE(g.event.fitted);
  EXPECT_FALSE(g.gap.fitted);
  EXPECT_EQ(g.event.score, 0.5);
  EXPECT_EQ(g.event.surprisal, 1.25);
  EXPECT_EQ(g.event.repeat, 2.0);
  EXPECT_EQ(g.event.bias, -3.0);
  EXPECT_EQ(g.event.cosine_mean, 0.25);
  EXPECT_EQ(g.event.cosine_top, -0.5);
  EXPECT_EQ(g.event.log_count, 0.125);
  EXPECT_EQ(g.surprisal_passes, 4);
  EXPECT_TRUE(g.cooccurrence);
  EXPECT_FLOAT_EQ(g.event.apply(0.5f, 2.0f, 1.0f), float(sigmoid(1.25 * 2.0 + 2.0 - 3.0)));
  EXPECT_FLOAT_EQ(g.event.apply(0.5f, 2.0f, 1.0f, 1.0f, 2.0f, 4.0f),
                  float(sigmoid(1.25 * 2.0 + 2.0 - 3.0 + 0.25 - 1.0 + 0.5)));
  EXPECT_THROW(ScoreFusion::from_json({{"event", {{"score", 1}}}}), Error);
  // A detector written before the repeat flag reads with no weight on it.
  const ScoreFusion old = ScoreFusion::from_json(
      nlohmann::json::parse(R"({"event": {"score": 1, "surprisal": 0.5, "bias": -1}, "gap": null})"));
  EXPECT_EQ(old.event.repeat, 0.0);
  EXPECT_EQ(old.event.cosine_top, 0.0);
  EXPECT_FALSE(old.cooccurrence);
}

}  // namespace
}  // namespace seqmend
