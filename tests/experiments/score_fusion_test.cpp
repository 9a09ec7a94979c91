// Score fusion (experiments/detect/score_fusion.h, fusion_inputs.h): the logistic regression recovers
// known weights, the fused score ranks better than any input when each carries part of the signal,
// repeat flags mark exact repeats only, the weights survive JSON (older detectors' too), and the
// inputs hold exactly the groups asked for.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "experiments/eval/detection_metrics.h"
#include "experiments/detect/score_fusion.h"
#include "io/injectors.h"
#include "io/sequence_set.h"

namespace seqmend {
namespace {

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

struct Data {
  std::vector<float> p, s, r;
  std::vector<int8_t> codes;
  std::vector<uint8_t> positive;

  FusionInputs inputs(bool with_repeat = true) const {
    FusionInputs in;
    in.add("surprisal", s);
    in.add("repeat", with_repeat ? r : std::vector<float>(r.size(), 0.0f));
    return in;
  }
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
  const FusionWeights w = fit_fusion(d.p, d.inputs(), d.codes, event_head_codes());
  ASSERT_TRUE(w.fitted);
  EXPECT_NEAR(w.score, 0.8, 0.06);
  EXPECT_NEAR(w.weight("surprisal"), 1.2, 0.08);
  EXPECT_NEAR(w.weight("repeat"), 2.5, 0.2);
  EXPECT_NEAR(w.bias, -6.0, 0.4);
  ASSERT_EQ(w.features.size(), 2u);
  EXPECT_EQ(w.features[0].first, "surprisal");
  EXPECT_EQ(w.weight("alone"), 0.0) << "a feature the weights do not name weighs nothing";
}

TEST(ScoreFusion, FusedScoreRanksBetterThanAnyInput) {
  const Data d = draw(1.0, 1.0, 2.0, -4.5, 20000, 3);
  ScoreFusion f;
  f.event = fit_fusion(d.p, d.inputs(), d.codes, event_head_codes());
  DetectorScores sc;
  sc.event = d.p;
  f.apply(sc, d.inputs());
  const double fused = roc_auc(sc.event, d.positive);
  EXPECT_GT(fused, roc_auc(d.p, d.positive) + 0.02);
  EXPECT_GT(fused, roc_auc(d.s, d.positive) + 0.02);
  EXPECT_GT(fused, roc_auc(d.r, d.positive) + 0.02);
  // Without the flag the same data ranks worse: it carries signal the other two lack.
  ScoreFusion g;
  g.event = fit_fusion(d.p, d.inputs(false), d.codes, event_head_codes());
  DetectorScores sg;
  sg.event = d.p;
  g.apply(sg, d.inputs(false));
  EXPECT_GT(fused, roc_auc(sg.event, d.positive) + 0.01);
  EXPECT_NEAR(g.event.weight("repeat"), 0.0, 1e-9) << "a constant feature gets no weight";
  for (float x : sc.event) ASSERT_TRUE(x >= 0.0f && x <= 1.0f);
  // The one-event form agrees with the in-place pass.
  for (size_t e : {size_t(0), size_t(17), d.p.size() - 1})
    EXPECT_FLOAT_EQ(f.event.apply(d.p[e], d.inputs(), e), sc.event[e]);
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
  FusionInputs in;
  in.add("surprisal", s);
  in.add("repeat", std::vector<float>(6, 0.0f));
  const FusionWeights w = fit_fusion(p, in, codes, event_head_codes());
  ASSERT_TRUE(w.fitted);
  EXPECT_NEAR(w.weight("surprisal"), 0.0, 1e-6);
  std::vector<int8_t> clean(6, kLabelClean);
  EXPECT_FALSE(fit_fusion(p, in, clean, event_head_codes()).fitted);
  // An unfitted head leaves scores as they are.
  EXPECT_EQ(FusionWeights{}.apply(0.37f, in, 4), 0.37f);
}

TEST(ScoreFusion, JsonRoundTrip) {
  ScoreFusion f;
  f.event.fitted = true;
  f.event.score = 0.5;
  f.event.bias = -3.0;
  f.event.features = {{"surprisal", 1.25}, {"repeat", 2.0}, {"cosine_mean", 0.25}, {"alone", -0.5}};
  f.features = {4, true, true};
  const ScoreFusion g = ScoreFusion::from_json(nlohmann::json::parse(f.to_json().dump()));
  EXPECT_TRUE(g.event.fitted);
  EXPECT_FALSE(g.gap.fitted);
  EXPECT_EQ(g.event.score, 0.5);
  EXPECT_EQ(g.event.bias, -3.0);
  for (const char* name : {"surprisal", "repeat", "cosine_mean", "alone"})
    EXPECT_EQ(g.event.weight(name), f.event.weight(name)) << name;
  EXPECT_EQ(g.features.surprisal_passes, 4);
  EXPECT_TRUE(g.features.cooccurrence);
  EXPECT_TRUE(g.features.time);
  FusionInputs in;
  in.add("surprisal", {2.0f});
  in.add("repeat", {1.0f});
  in.add("cosine_mean", {4.0f});
  in.add("alone", {1.0f});
  EXPECT_FLOAT_EQ(g.event.apply(0.5f, in, 0), float(sigmoid(1.25 * 2.0 + 2.0 + 0.25 * 4.0 - 0.5 - 3.0)));
  EXPECT_THROW(ScoreFusion::from_json({{"event", {{"score", 1}}}}), Error);
  EXPECT_THROW(ScoreFusion::from_json({{"event", {{"score", 1}, {"surprisal", "x"}, {"bias", 0}}}}), Error);

  // A detector written before the named features: every weight under its old key, co-occurrence
  // weights zero when it did not fuse them, no time. It applies to inputs without those groups.
  const ScoreFusion old = ScoreFusion::from_json(nlohmann::json::parse(
      R"({"event": {"score": 1, "surprisal": 0.5, "repeat": 2, "bias": -1, "cosine_mean": 0, "cosine_top": 0,
          "log_count": 0, "jaccard_near": 0}, "gap": null, "surprisal_passes": 4, "cooccurrence": false})"));
  EXPECT_FALSE(old.features.cooccurrence);
  EXPECT_FALSE(old.features.time);
  FusionInputs two;
  two.add("surprisal", {2.0f});
  two.add("repeat", {0.0f});
  EXPECT_FLOAT_EQ(old.event.apply(0.5f, two, 0), float(sigmoid(0.5 * 2.0 - 1.0)));
  // A weight on a feature the inputs lack is an error naming it, not a silent zero.
  FusionWeights needs_time = old.event;
  needs_time.features.emplace_back("alone", 0.7);
  DetectorScores sc;
  sc.event = {0.5f};
  ScoreFusion h;
  h.event = needs_time;
  try {
    h.apply(sc, two);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'alone'"), std::string::npos) << e.what();
  }
}

TEST(FusionInputs, HoldTheGroupsAskedForAndLeaveOutWhatTheDataCannotGive) {
  SequenceSet set;
  set.offsets = {0, 3, 6};
  set.item = {1, 2, 3, 1, 2, 4};
  set.user = {0, 1};
  set.timestamp = {10, 10, 50, 5, 7, 9};
  auto names = [](const FusionInputs& in) {
    std::vector<std::string> n;
    for (const FusionInput& f : in.features) n.push_back(f.name);
    return n;
  };
  const std::vector<float> s(6, 1.0f);
  EXPECT_EQ(names(fusion_inputs(set, s, {1, false, false}, 4)), (std::vector<std::string>{"surprisal", "repeat"}));
  const FusionInputs all = fusion_inputs(set, s, {1, true, true}, 4);
  EXPECT_EQ(names(all), (std::vector<std::string>{"surprisal", "repeat", "cosine_mean", "cosine_top", "log_count",
                                                  "jaccard_near", "log_gap_before", "log_gap_after", "alone",
                                                  "gap_vs_user"}));
  for (const FusionInput& f : all.features) EXPECT_EQ(f.values.size(), 6u) << f.name;
  set.timestamp.clear();  // no timestamps: no time features, whatever was asked
  EXPECT_EQ(names(fusion_inputs(set, s, {1, false, true}, 4)), (std::vector<std::string>{"surprisal", "repeat"}));
  EXPECT_THROW(fusion_inputs(set, std::vector<float>(5, 1.0f), {1, false, false}, 4), Error);
  FusionInputs dup;
  dup.add("surprisal", s);
  EXPECT_THROW(dup.add("surprisal", s), Error);
  EXPECT_THROW(dup.add("repeat", std::vector<float>(2, 0.0f)), Error);
}

}  // namespace
}  // namespace seqmend
