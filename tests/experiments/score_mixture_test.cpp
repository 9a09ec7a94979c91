// The two-component fit of a log's scores (experiments/detect/score_mixture.h): it recovers the
// anomalies' share and the genuine component from sampled data, in logit space for probabilities
// and as-is otherwise, its expected precision matches the sampled truth, and too little data gives
// no opinion. log_precision's use of it is in thresholds_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/detect/score_mixture.h"

namespace seqmend {
namespace {

struct Sample {
  std::vector<float> log, injected;
  std::vector<uint8_t> hidden;  // per log score: an anomaly
};

// Genuine logits N(genuine_mean, genuine_sd), anomalies N(anomaly_mean, anomaly_sd), a share `share`
// of the log; as probabilities (sigmoid) or as the logits themselves.
Sample sample(double genuine_mean, double genuine_sd, double anomaly_mean, double anomaly_sd, double share,
              bool probabilities, uint64_t seed) {
  Rng rng(seed, 0);
  auto normal = [&](double mu, double sd) {
    const double u1 = std::max(rng.uniform_double(), 1e-12), u2 = rng.uniform_double();
    return mu + sd * std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  };
  auto out = [&](double logit) { return float(probabilities ? 1 / (1 + std::exp(-logit)) : logit); };
  Sample s;
  for (int i = 0; i < 60000; ++i) {
    const bool anomaly = rng.uniform_double() < share;
    s.log.push_back(out(anomaly ? normal(anomaly_mean, anomaly_sd) : normal(genuine_mean, genuine_sd)));
    s.hidden.push_back(anomaly);
  }
  for (int i = 0; i < 6000; ++i) s.injected.push_back(out(normal(anomaly_mean, anomaly_sd)));
  return s;
}

double true_precision(const Sample& s, float threshold, double& flagged_share) {
  int64_t flagged = 0, hits = 0;
  for (size_t i = 0; i < s.log.size(); ++i)
    if (s.log[i] >= threshold) ++flagged, hits += s.hidden[i];
  flagged_share = double(flagged) / double(s.log.size());
  return double(hits) / double(flagged);
}

TEST(ScoreMixture, RecoversTheShareAndTheGenuineComponentInLogitSpace) {
  const Sample s = sample(-5.0, 2.2, -1.5, 1.2, 0.13, true, 7);
  const ScoreMixture m = fit_score_mixture(s.log, s.injected);
  ASSERT_TRUE(m.fitted);
  EXPECT_TRUE(m.logit);
  EXPECT_NEAR(m.share, 0.13, 0.01);
  EXPECT_NEAR(m.mean, -5.0, 0.1);
  EXPECT_NEAR(m.sd, 2.2, 0.1);
  // Its expected precision is the sampled one, from where the genuine events dominate to the top.
  for (double logit : {-3.0, -1.5, 0.0, 1.0}) {
    const float t = float(1 / (1 + std::exp(-logit)));
    double flagged = 0;
    const double truth = true_precision(s, t, flagged);
    EXPECT_NEAR(m.precision_at(t, flagged), truth, 0.05) << "logit " << logit;
  }
  const nlohmann::json j = m.to_json();
  EXPECT_EQ(j["space"], "logit");
  EXPECT_NEAR(j["share"].get<double>(), m.share, 1e-12);
}

TEST(ScoreMixture, ScoresOutsideTheUnitIntervalAreFittedAsTheyAre) {
  const Sample s = sample(0.0, 1.0, 3.0, 1.0, 0.2, false, 3);
  const ScoreMixture m = fit_score_mixture(s.log, s.injected);
  ASSERT_TRUE(m.fitted);
  EXPECT_FALSE(m.logit);
  EXPECT_NEAR(m.share, 0.2, 0.015);
  EXPECT_NEAR(m.mean, 0.0, 0.05);
  EXPECT_NEAR(m.sd, 1.0, 0.05);
  // Weights of one are no weights.
  const ScoreMixture w = fit_score_mixture(s.log, s.injected, std::vector<float>(s.injected.size(), 1.0f));
  EXPECT_EQ(w.share, m.share);
  EXPECT_EQ(w.mean, m.mean);
}

TEST(ScoreMixture, TooLittleDataGivesNoOpinion) {
  const std::vector<float> one = {0.5f}, none;
  const ScoreMixture a = fit_score_mixture(one, one), b = fit_score_mixture(std::vector<float>{0.1f, 0.2f}, none);
  EXPECT_FALSE(a.fitted);
  EXPECT_FALSE(b.fitted);
  EXPECT_EQ(a.precision_at(0.5, 0.1), 1.0);  // no second opinion: log_precision's own estimate decides
  EXPECT_EQ(a.to_json()["fitted"], false);
  const std::vector<float> two = {0.1f, 0.2f};
  EXPECT_THROW(fit_score_mixture(two, two, std::vector<float>{1.0f}), Error);
  EXPECT_THROW(fit_score_mixture(two, two, std::vector<float>{1.0f, -1.0f}), Error);
  EXPECT_FALSE(fit_score_mixture(two, two, std::vector<float>{0.0f, 0.0f}).fitted);  // no injected weight
}

}  // namespace
}  // namespace seqmend
