// Threshold calibration: best F1 and target precision on hand-computed sweeps, ties, unreachable
// targets, degenerate heads and determinism.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/detect/thresholds.h"

namespace seqmend {
namespace {

TEST(Thresholds, BestF1OnHandComputedSweep) {
  // scores [0.1, 0.4, 0.35, 0.8], labels [0, 0, 1, 1]; F1 = 2tp / (flagged + P):
  //   >= 0.8: 2/3   >= 0.4: 2/4   >= 0.35: 4/5 (best)   >= 0.1: 4/6
  std::vector<float> s = {0.1f, 0.4f, 0.35f, 0.8f};
  std::vector<uint8_t> y = {0, 0, 1, 1};
  ThresholdChoice c = best_f1_threshold(s, y);
  EXPECT_DOUBLE_EQ(c.threshold, double(0.35f));
  EXPECT_NEAR(c.f1, 0.8, 1e-12);
  EXPECT_NEAR(c.precision, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(c.recall, 1.0);
  EXPECT_EQ(c.flagged, 3);
  EXPECT_FALSE(c.degenerate);
}

TEST(Thresholds, BestF1TieKeepsTheHighestThreshold) {
  // scores [.9, .8, .7, .6], labels [1, 0, 0, 1]:  >= .9: 2/3   >= .8: 2/4   >= .7: 2/5   >= .6: 4/6
  // .9 and .6 tie at 2/3 → the higher threshold (fewer flags) wins.
  std::vector<float> s = {0.9f, 0.8f, 0.7f, 0.6f};
  std::vector<uint8_t> y = {1, 0, 0, 1};
  ThresholdChoice c = best_f1_threshold(s, y);
  EXPECT_DOUBLE_EQ(c.threshold, double(0.9f));
  EXPECT_EQ(c.flagged, 1);
}

TEST(Thresholds, TargetPrecisionTakesTheSmallestReachingThreshold) {
  // same data: precision >= .9: 1,  >= .8: 1/2,  >= .7: 1/3,  >= .6: 1/2
  std::vector<float> s = {0.9f, 0.8f, 0.7f, 0.6f};
  std::vector<uint8_t> y = {1, 0, 0, 1};
  ThresholdChoice c = precision_threshold(s, y, 0.6);
  EXPECT_DOUBLE_EQ(c.threshold, double(0.9f));
  EXPECT_TRUE(c.target_reached);
  c = precision_threshold(s, y, 0.5);  // reached at .8 and at .6: the smaller, .6 (recall 1)
  EXPECT_DOUBLE_EQ(c.threshold, double(0.6f));
  EXPECT_DOUBLE_EQ(c.recall, 1.0);
  EXPECT_TRUE(c.target_reached);
  c = precision_threshold(s, y, 1.0);
  EXPECT_DOUBLE_EQ(c.threshold, double(0.9f));
  EXPECT_TRUE(c.target_reached);
}

TEST(Thresholds, UnreachableTargetFallsBackToMaxPrecisionWithFlag) {
  // scores [.9, .8, .3], labels [0, 1, 1]: precision >= .9: 0, >= .8: 1/2, >= .3: 2/3 (max)
  std::vector<float> s = {0.9f, 0.8f, 0.3f};
  std::vector<uint8_t> y = {0, 1, 1};
  ThresholdChoice c = precision_threshold(s, y, 0.9);
  EXPECT_FALSE(c.target_reached);
  EXPECT_DOUBLE_EQ(c.threshold, double(0.3f));
  EXPECT_NEAR(c.precision, 2.0 / 3.0, 1e-12);
  // Max precision shared by two thresholds → the smaller one (more recall).
  std::vector<float> s2 = {0.9f, 0.8f, 0.7f, 0.6f};
  std::vector<uint8_t> y2 = {0, 1, 0, 1};  // precisions 0, 1/2, 1/3, 1/2
  c = precision_threshold(s2, y2, 0.99);
  EXPECT_FALSE(c.target_reached);
  EXPECT_DOUBLE_EQ(c.threshold, double(0.6f));
}

TEST(Thresholds, TiesAreFlaggedTogether) {
  // scores [.5, .5, .5, .2], labels [1, 0, 1, 0]: candidates >= .5 (2 of 3) and >= .2 (2 of 4)
  std::vector<float> s = {0.5f, 0.5f, 0.5f, 0.2f};
  std::vector<uint8_t> y = {1, 0, 1, 0};
  ThresholdChoice c = best_f1_threshold(s, y);
  EXPECT_DOUBLE_EQ(c.threshold, 0.5);
  EXPECT_EQ(c.flagged, 3);
  EXPECT_NEAR(c.f1, 0.8, 1e-12);  // 4 / (3 + 2)
}

TEST(Thresholds, NoPositivesIsDegenerate) {
  std::vector<float> s = {0.2f, 0.7f};
  ThresholdChoice c = best_f1_threshold(s, std::vector<uint8_t>{0, 0});
  EXPECT_TRUE(c.degenerate);
  EXPECT_TRUE(std::isinf(c.threshold));
  EXPECT_TRUE(c.to_json()["threshold"].is_null());
  c = precision_threshold(std::vector<float>{}, std::vector<uint8_t>{}, 0.5);
  EXPECT_TRUE(c.degenerate);
  EXPECT_FALSE(c.target_reached);
  EXPECT_THROW(best_f1_threshold(std::vector<float>{std::nanf("")}, std::vector<uint8_t>{1}), Error);
  EXPECT_THROW(precision_threshold(s, std::vector<uint8_t>{0, 1}, 1.5), Error);
}

TEST(Thresholds, IndependentOfInputOrderAndMatchesBruteForce) {
  std::mt19937 gen(7);
  const int n = 500;
  std::vector<float> s(n);
  std::vector<uint8_t> y(n);
  for (int i = 0; i < n; ++i) {
    y[size_t(i)] = std::uniform_int_distribution<int>(0, 3)(gen) == 0;
    s[size_t(i)] = float(std::uniform_int_distribution<int>(0, 40)(gen) + (y[size_t(i)] ? 10 : 0)) / 50.0f;
  }
  ThresholdChoice a = best_f1_threshold(s, y);
  // brute force: every distinct score as a threshold, F1 from metrics_at_threshold
  double best_f1 = -1, best_thr = 0;
  std::vector<float> cands = s;
  std::sort(cands.begin(), cands.end(), std::greater<float>());
  cands.erase(std::unique(cands.begin(), cands.end()), cands.end());
  for (float t : cands) {
    double f1 = metrics_at_threshold(s, y, t).f1;
    if (f1 > best_f1 + 1e-15) best_f1 = f1, best_thr = t;
  }
  EXPECT_DOUBLE_EQ(a.threshold, best_thr);
  EXPECT_NEAR(a.f1, best_f1, 1e-12);
  // Shuffled input: the same choice, bit for bit.
  std::vector<size_t> perm(n);
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), gen);
  std::vector<float> s2(n);
  std::vector<uint8_t> y2(n);
  for (size_t i = 0; i < perm.size(); ++i) s2[i] = s[perm[i]], y2[i] = y[perm[i]];
  ThresholdChoice b = best_f1_threshold(s2, y2);
  EXPECT_EQ(a.threshold, b.threshold);
  EXPECT_EQ(a.f1, b.f1);
  ThresholdChoice p1 = precision_threshold(s, y, 0.8), p2 = precision_threshold(s2, y2, 0.8);
  EXPECT_EQ(p1.threshold, p2.threshold);
  EXPECT_GE(p1.precision, 0.8);
  // The smallest reaching threshold: one candidate lower no longer reaches 0.8.
  auto below = std::find_if(cands.begin(), cands.end(), [&](float t) { return t < p1.threshold; });
  if (below != cands.end()) {
    EXPECT_LT(metrics_at_threshold(s, y, *below).precision, 0.8);
  }
}

TEST(Thresholds, CalibratesEachHeadOnLabelledSet) {
  SequenceSet set;
  int32_t items[4] = {1, 2, 3, 4};
  int8_t lab_a[4] = {0, 1, 0, 4}, lab_b[4] = {0, 0, 2, 0}, lab_bot[4] = {6, 6, 6, 6};
  set.append(0, items, 4, nullptr, nullptr, lab_a, 0);
  set.append(1, items, 4, nullptr, nullptr, lab_b, 0);
  set.append(2, items, 4, nullptr, nullptr, lab_bot, kLabelBotPopular);
  DetectorScores sc;
  // event head: positives 0.9 (noise), 0.7 (substitution); negatives 0.1 0.2 0.3(gap) 0.2 0.1 0.4;
  // the bot events (0.99) are left out, otherwise they would be the top false positives.
  sc.event = {0.1f, 0.9f, 0.2f, 0.3f, 0.2f, 0.1f, 0.7f, 0.4f, 0.99f, 0.99f, 0.99f, 0.99f};
  sc.sequence = {0.1f, 0.3f, 0.8f};
  ThresholdConfig cfg;
  HeadThresholds t = calibrate_thresholds(sc, set, cfg);
  EXPECT_DOUBLE_EQ(t.event.threshold, double(0.7f));
  EXPECT_DOUBLE_EQ(t.event.f1, 1.0);
  EXPECT_TRUE(t.gap.degenerate);  // no gap scores given
  EXPECT_DOUBLE_EQ(t.sequence.threshold, double(0.8f));
  Thresholds th = t.thresholds();
  EXPECT_TRUE(std::isinf(th.gap));
  EXPECT_TRUE(t.to_json()["gap"]["threshold"].is_null());
  cfg.method = "precision";
  cfg.target_precision = 1.0;
  EXPECT_DOUBLE_EQ(calibrate_thresholds(sc, set, cfg).event.threshold, double(0.7f));
}

// Per-head methods: the event head by precision, the sequence head by best F1, in one calibration.
TEST(Thresholds, PerHeadMethodsOverrideTheCommonOne) {
  SequenceSet set;
  const int32_t items[] = {1, 2, 3, 4};
  const int8_t lab[] = {kLabelNoiseClick, kLabelClean, kLabelNoiseClick, kLabelClean};
  set.append(0, items, 4, nullptr, nullptr, lab, 0);
  set.append(1, items, 4, nullptr, nullptr, lab, kLabelBotUniform);
  set.append(2, items, 4, nullptr, nullptr, lab, 0);
  DetectorScores sc;
  // Event positives 0.9, 0.5, 0.9, 0.5 and negatives 0.6, 0.1, 0.6, 0.1: best F1 at 0.5 (P 2/3, R 1),
  // precision 1 only from 0.9.
  sc.event = {0.9f, 0.6f, 0.5f, 0.1f, 0.9f, 0.6f, 0.5f, 0.1f, 0.9f, 0.6f, 0.5f, 0.1f};
  sc.sequence = {0.2f, 0.7f, 0.4f};
  ThresholdConfig cfg;
  cfg.target_precision = 1.0;
  EXPECT_DOUBLE_EQ(calibrate_thresholds(sc, set, cfg).event.threshold, double(0.5f));
  cfg.event_method = "precision";
  HeadThresholds t = calibrate_thresholds(sc, set, cfg);
  EXPECT_DOUBLE_EQ(t.event.threshold, double(0.9f));
  EXPECT_DOUBLE_EQ(t.event.precision, 1.0);
  EXPECT_DOUBLE_EQ(t.sequence.threshold, double(0.7f));  // still best F1
  cfg.method = "precision";
  cfg.event_method = "best_f1";
  EXPECT_DOUBLE_EQ(calibrate_thresholds(sc, set, cfg).event.threshold, double(0.5f));
  cfg.sequence_method = "median";
  try {
    calibrate_thresholds(sc, set, cfg);
    ADD_FAILURE() << "an unknown method must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sequence head"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seqmend

namespace seqmend {
namespace {

// A draw of N(0, 1) (Box-Muller).
double standard_normal(Rng& rng) {
  const double u1 = std::max(rng.uniform_double(), 1e-12), u2 = rng.uniform_double();
  return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Negatives that hide anomalies of the positives' kind: 9,000 genuine ~ N(0, 1) and 1,000 hidden ~
// N(2.5, 1) among them, 3,000 labelled positives ~ N(2.5, 1). The estimated share and the expected
// precision on the negatives must match what the hidden labels say.
TEST(LogPrecisionThreshold, EstimatesTheHiddenShareAndThePrecisionOnTheLog) {
  Rng rng(11, 0);
  auto normal = [&](double mu) { return float(mu + standard_normal(rng)); };
  std::vector<float> s;
  std::vector<uint8_t> pos, hidden;
  for (int i = 0; i < 3000; ++i) s.push_back(normal(2.5)), pos.push_back(1), hidden.push_back(0);
  for (int i = 0; i < 9000; ++i) s.push_back(normal(0.0)), pos.push_back(0), hidden.push_back(0);
  for (int i = 0; i < 1000; ++i) s.push_back(normal(2.5)), pos.push_back(0), hidden.push_back(1);
  const ThresholdChoice c = log_precision_threshold(s, pos, 0.8);
  ASSERT_TRUE(c.target_reached);
  EXPECT_NEAR(c.hidden_share, 0.1, 0.03);
  int64_t flagged = 0, hits = 0;
  for (size_t i = 0; i < s.size(); ++i)
    if (!pos[i] && s[i] >= float(c.threshold)) ++flagged, hits += hidden[i];
  const double truth = double(hits) / double(flagged);
  EXPECT_NEAR(c.precision, truth, 0.06);
  EXPECT_GE(truth, 0.74);
  // The plain precision method counts the hidden anomalies as false positives: far fewer flags.
  const ThresholdChoice plain = precision_threshold(s, pos, 0.8);
  EXPECT_GT(plain.threshold, c.threshold);
  // Without hidden anomalies the share is ~0 and nothing but the top can reach the target.
  std::vector<float> s2(s.begin(), s.begin() + 12000);
  std::vector<uint8_t> p2(pos.begin(), pos.begin() + 12000);
  EXPECT_LT(log_precision_threshold(s2, p2, 0.8).hidden_share, 0.02);
  // Positives that every negative scores below: the log hides no anomaly of their kind (share 0),
  // so no threshold has any expected precision on the log's events, and the head flags nothing.
  std::vector<float> s3;
  std::vector<uint8_t> p3;
  for (int i = 0; i < 100; ++i) s3.push_back(5.0f + 0.01f * float(i)), p3.push_back(1);
  for (int i = 0; i < 1000; ++i) s3.push_back(float(i % 7) * 0.1f), p3.push_back(0);
  const ThresholdChoice none = log_precision_threshold(s3, p3, 0.8);
  EXPECT_EQ(none.hidden_share, 0.0);
  EXPECT_FALSE(none.target_reached);
  EXPECT_TRUE(std::isinf(none.threshold));
  EXPECT_EQ(none.flagged, 0);
  EXPECT_EQ(none.best_precision, 0.0);
  EXPECT_TRUE(none.to_json()["threshold"].is_null()) << none.to_json().dump();
  EXPECT_EQ(none.to_json()["best_expected_precision"], 0.0);
  EXPECT_FALSE(c.to_json().contains("best_expected_precision"));
}

}  // namespace
}  // namespace seqmend

namespace seqmend {
namespace {

// Weighted positives (noise_kind.h): weights of 1 change nothing, and a weight of 0 removes a
// positive from F_pos exactly as leaving it out would.
TEST(LogPrecisionThreshold, TheMixtureCheckHoldsThePromiseWhereGenuineScoresSpreadIntoTheTop) {
  // Genuine logits N(-5, 2.2) reach into the anomalies' N(-1.5, 1.2), and past them: the log's top
  // is not pure, no threshold is 0.8 precise (the best is about 0.58), yet the tail ratio alone
  // promises 0.8 where about half is real. With the mixture check the promise is not made; a target
  // within reach is chosen where it is real.
  Rng rng(13, 0);
  auto normal = [&](double mu, double sd) { return float(1 / (1 + std::exp(-(mu + sd * standard_normal(rng))))); };
  std::vector<float> s;
  std::vector<uint8_t> pos, hidden;
  for (int i = 0; i < 6000; ++i) s.push_back(normal(-1.5, 1.2)), pos.push_back(1), hidden.push_back(0);
  for (int i = 0; i < 52000; ++i) s.push_back(normal(-5.0, 2.2)), pos.push_back(0), hidden.push_back(0);
  for (int i = 0; i < 8000; ++i) s.push_back(normal(-1.5, 1.2)), pos.push_back(0), hidden.push_back(1);
  auto real = [&](const ThresholdChoice& c) {
    int64_t flagged = 0, hits = 0;
    for (size_t i = 0; i < s.size(); ++i)
      if (!pos[i] && s[i] >= float(c.threshold)) ++flagged, hits += hidden[i];
    return double(hits) / double(flagged);
  };
  const ThresholdChoice ratio_only = log_precision_threshold(s, pos, 0.8, 50, {}, false);
  ASSERT_TRUE(ratio_only.target_reached);
  EXPECT_LT(real(ratio_only), 0.6);
  EXPECT_TRUE(ratio_only.mixture.is_null());
  const ThresholdChoice checked = log_precision_threshold(s, pos, 0.8);
  EXPECT_FALSE(checked.target_reached);
  EXPECT_TRUE(std::isinf(checked.threshold));
  EXPECT_GT(checked.best_precision, 0.45);
  EXPECT_LT(checked.best_precision, 0.7);
  EXPECT_NEAR(checked.mixture["share"].get<double>(), 8000.0 / 60000.0, 0.015);
  EXPECT_EQ(checked.to_json()["mixture"], checked.mixture);
  const ThresholdChoice half = log_precision_threshold(s, pos, 0.5);
  ASSERT_TRUE(half.target_reached);
  EXPECT_GE(real(half), 0.45);
  EXPECT_NEAR(half.precision, real(half), 0.05);
}

// A clean log whose few genuine top events (0.3 %, rare items, say) score like the anomalies cannot
// be told from a log with 0.3 % noise: both estimates see a small share, and without a floor the
// head deletes genuine events at a promised 0.8. Below min_share the log is left as it is; a
// noisy log's choice does not move.
TEST(LogPrecisionThreshold, AShareBelowTheFloorLeavesTheLogAsItIs) {
  Rng rng(17, 0);
  auto normal = [&](double mu) { return float(mu + standard_normal(rng)); };
  std::vector<float> s;
  std::vector<uint8_t> pos;
  for (int i = 0; i < 3000; ++i) s.push_back(normal(2.5)), pos.push_back(1);
  for (int i = 0; i < 60000; ++i) s.push_back(normal(0.0)), pos.push_back(0);
  for (int i = 0; i < 180; ++i) s.push_back(normal(2.5)), pos.push_back(0);  // genuine, yet high
  const ThresholdChoice unfloored = log_precision_threshold(s, pos, 0.8, 50, {}, true, 0.0);
  ASSERT_TRUE(unfloored.target_reached);
  EXPECT_GT(unfloored.flagged - int64_t(unfloored.recall * 3000 + 0.5), 10) << "genuine events flagged";
  EXPECT_LT(unfloored.hidden_share, 0.01);
  const ThresholdChoice floored = log_precision_threshold(s, pos, 0.8, 50, {}, true, 0.01);
  EXPECT_TRUE(floored.below_min_share);
  EXPECT_FALSE(floored.target_reached);
  EXPECT_TRUE(std::isinf(floored.threshold));
  EXPECT_EQ(floored.flagged, 0);
  EXPECT_EQ(floored.hidden_share, unfloored.hidden_share);
  EXPECT_GE(floored.best_precision, 0.8) << "what the head would have promised";
  EXPECT_EQ(floored.to_json()["below_min_share"], true);
  EXPECT_FALSE(unfloored.to_json().contains("below_min_share"));
  // 10 % hidden anomalies: far above the floor, the same choice with it and without.
  for (int i = 0; i < 6000; ++i) s.push_back(normal(2.5)), pos.push_back(0);
  const ThresholdChoice a = log_precision_threshold(s, pos, 0.8, 50, {}, true, 0.0);
  const ThresholdChoice b = log_precision_threshold(s, pos, 0.8, 50, {}, true, 0.01);
  ASSERT_TRUE(a.target_reached);
  EXPECT_EQ(a.to_json(), b.to_json());
  EXPECT_THROW(log_precision_threshold(s, pos, 0.8, 50, {}, true, 1.5), Error);
}

TEST(LogPrecisionThreshold, WeightsOfOneChangeNothingAndZeroLeavesAPositiveOut) {
  Rng rng(5, 0);
  std::vector<float> s;
  std::vector<uint8_t> pos;
  for (int i = 0; i < 2000; ++i) s.push_back(float(rng.uniform_double() * 2 + 1)), pos.push_back(1);
  // Genuine scores near normal (a sum of four uniforms), as the mixture check assumes.
  auto bell = [&] { return (rng.uniform_double() + rng.uniform_double() + rng.uniform_double() + rng.uniform_double()) / 2; };
  for (int i = 0; i < 8000; ++i) s.push_back(float(bell())), pos.push_back(0);
  for (int i = 0; i < 800; ++i) s.push_back(float(rng.uniform_double() * 2 + 1)), pos.push_back(0);
  const ThresholdChoice plain = log_precision_threshold(s, pos, 0.8);
  const ThresholdChoice ones = log_precision_threshold(s, pos, 0.8, 50, std::vector<float>(s.size(), 1.0f));
  ASSERT_TRUE(plain.target_reached);
  EXPECT_EQ(ones.threshold, plain.threshold);
  EXPECT_EQ(ones.precision, plain.precision);
  EXPECT_EQ(ones.recall, plain.recall);
  EXPECT_EQ(ones.hidden_share, plain.hidden_share);
  // Zero weight on the positives scoring above 2.5: the same as dropping them.
  std::vector<float> w(s.size(), 1.0f), s_cut;
  std::vector<uint8_t> pos_cut;
  for (size_t i = 0; i < s.size(); ++i) {
    if (pos[i] && s[i] > 2.5f) {
      w[i] = 0;
      continue;
    }
    s_cut.push_back(s[i]), pos_cut.push_back(pos[i]);
  }
  const ThresholdChoice cut = log_precision_threshold(s_cut, pos_cut, 0.8);
  const ThresholdChoice zero = log_precision_threshold(s, pos, 0.8, 50, w);
  EXPECT_EQ(zero.hidden_share, cut.hidden_share);
  EXPECT_EQ(zero.threshold, cut.threshold);
  EXPECT_EQ(zero.precision, cut.precision);
  EXPECT_NE(zero.threshold, plain.threshold);
  // Bad weights are refused; all-zero weights leave nothing to calibrate on.
  std::vector<float> bad(s.size(), 1.0f);
  bad[3] = -1;
  EXPECT_THROW(log_precision_threshold(s, pos, 0.8, 50, bad), Error);
  EXPECT_THROW(log_precision_threshold(s, pos, 0.8, 50, std::vector<float>(3, 1.0f)), Error);
  EXPECT_TRUE(log_precision_threshold(s, pos, 0.8, 50, std::vector<float>(s.size(), 0.0f)).degenerate);
}

}  // namespace
}  // namespace seqmend
