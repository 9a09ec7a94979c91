// The noise-kind estimate (experiments/detect/noise_kind.h): the posterior follows the injector's
// odds, the uniform share of a log's own flagged noise is recovered on samples of known mixture, and
// kind weights turn an even-odds sample into the estimated mixture.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/detect/noise_kind.h"

namespace seqmend {
namespace {

// Zipf-like counts over V items: item i + 1 has about 2000 / (i + 1) events, the tail none.
std::vector<int64_t> zipf_counts(int64_t v) {
  std::vector<int64_t> c(size_t(v), 0);
  for (int64_t i = 0; i < v; ++i) c[size_t(i)] = int64_t(2000.0 / double(i + 1));
  return c;
}

// Draws item ids as the injector does: uniform over 1..V, or by count + 1.
struct Draw {
  std::vector<double> cumulative;
  explicit Draw(const std::vector<int64_t>& counts) {
    double s = 0;
    for (int64_t c : counts) cumulative.push_back(s += double(c) + 1.0);
  }
  int32_t uniform(Rng& rng) const { return int32_t(1 + rng.below(cumulative.size())); }
  int32_t popular(Rng& rng) const {
    const double x = rng.uniform_double() * cumulative.back();
    return int32_t(1 + (std::upper_bound(cumulative.begin(), cumulative.end(), x) - cumulative.begin()));
  }
};

TEST(NoiseKind, PosteriorFollowsTheInjectorsOdds) {
  // V = 4, counts + 1 = {1, 3, 5, 7}, total 16: P(uniform | i) = (1/4) / (1/4 + (c + 1)/16).
  const std::vector<int64_t> counts = {0, 2, 4, 6};
  const std::vector<double> p = uniform_posterior(counts);
  ASSERT_EQ(p.size(), 5u);
  EXPECT_NEAR(p[1], 0.25 / (0.25 + 1.0 / 16), 1e-12);
  EXPECT_NEAR(p[3], 4.0 / 9.0, 1e-12);
  EXPECT_NEAR(p[4], 4.0 / 11.0, 1e-12);
  for (size_t i = 2; i < p.size(); ++i) EXPECT_LT(p[i], p[i - 1]) << "rarer items are likelier uniform draws";
  // An item as common as the average (count + 1 = 16 / 4) is even odds.
  EXPECT_NEAR(uniform_posterior(std::vector<int64_t>{3, 3, 3, 3})[2], 0.5, 1e-12);
}

// A calibration set like finetune's: the log's genuine events (popular items, low scores) with its
// own noise hidden among them (a share w_true drawn uniformly, the rest by popularity), and injected
// positives drawn with even odds. A noise item's score is higher the rarer it is, as a detector's
// is, so the two kinds are flagged at different rates: the estimate is of the flagged noise's mix.
struct Calibration {
  std::vector<float> scores;
  std::vector<uint8_t> positive;
  std::vector<int32_t> items;
  std::vector<uint8_t> drawn_uniform;
};

Calibration make_calibration(double w_true, uint64_t seed, const std::vector<int64_t>& counts) {
  const Draw draw(counts);
  Rng rng(seed, 0);
  Calibration c;
  auto noise_score = [&](int32_t item) {
    return float(3.0 - 0.2 * std::log1p(double(counts[size_t(item) - 1])) + 2.0 * (rng.uniform_double() - 0.5));
  };
  auto add = [&](int32_t item, float score, bool pos, bool uniform) {
    c.items.push_back(item), c.scores.push_back(score), c.positive.push_back(pos ? 1 : 0);
    c.drawn_uniform.push_back(uniform ? 1 : 0);
  };
  for (int i = 0; i < 40000; ++i) add(draw.popular(rng), float(rng.uniform_double()), false, false);
  for (int i = 0; i < 8000; ++i) {
    const bool u = rng.uniform_double() < w_true;
    const int32_t item = u ? draw.uniform(rng) : draw.popular(rng);
    add(item, noise_score(item), false, u);
  }
  for (int i = 0; i < 8000; ++i) {
    const bool u = rng.below(2) == 0;
    const int32_t item = u ? draw.uniform(rng) : draw.popular(rng);
    add(item, noise_score(item), true, u);
  }
  return c;
}

// The share of uniform draws among the log's own noise flagged at the anchor (what the estimate
// stands for), from the labels the estimate never sees.
double flagged_uniform_share(const Calibration& c, double threshold) {
  double flagged = 0, uniform = 0;
  for (size_t e = 0; e < c.scores.size(); ++e)
    if (!c.positive[e] && c.scores[e] >= threshold && c.scores[e] > 1.0f)  // genuine events score below 1
      ++flagged, uniform += c.drawn_uniform[e];
  return uniform / flagged;
}

TEST(NoiseKind, RecoversTheUniformShareOfTheLogsFlaggedNoise) {
  const std::vector<int64_t> counts = zipf_counts(2000);
  double previous = -1;
  for (double w_true : {0.0, 0.2, 0.5, 0.8, 1.0}) {
    const Calibration c = make_calibration(w_true, 7, counts);
    const NoiseKindEstimate k = estimate_noise_kind(c.scores, c.positive, c.items, counts);
    EXPECT_TRUE(k.informative);
    const double truth = flagged_uniform_share(c, k.threshold);
    EXPECT_NEAR(k.uniform_share, truth, 0.1) << "share of all noise " << w_true;
    if (w_true == 0.0) {
      EXPECT_LT(k.uniform_share, 0.1);
    }
    if (w_true == 1.0) {
      EXPECT_GT(k.uniform_share, 0.9);
    }
    EXPECT_GT(k.uniform_share, previous) << "the estimate follows the truth up";
    previous = k.uniform_share;
    EXPECT_LT(k.log_count_uniform, k.log_count_popularity);
    EXPECT_GT(k.flagged_injected, 2300);  // ~30 % of 8,000 (ties at the anchor flag a whole group)
    EXPECT_GT(k.flagged_log, 0);
  }
}

TEST(NoiseKind, NoEvidenceKeepsEvenOdds) {
  const std::vector<int64_t> counts = zipf_counts(100);
  // Every log event scores below every injection: nothing of the log is flagged at the anchor.
  std::vector<float> s;
  std::vector<uint8_t> p;
  std::vector<int32_t> it;
  for (int i = 0; i < 200; ++i) s.push_back(5.0f + 0.01f * float(i)), p.push_back(1), it.push_back(1 + i % 100);
  for (int i = 0; i < 500; ++i) s.push_back(0.0f), p.push_back(0), it.push_back(1 + i % 100);
  NoiseKindEstimate k = estimate_noise_kind(s, p, it, counts);
  EXPECT_FALSE(k.informative);
  EXPECT_EQ(k.uniform_share, 0.5);
  EXPECT_EQ(k.flagged_log, 0);
  // No injections at all.
  std::vector<uint8_t> none(s.size(), 0);
  k = estimate_noise_kind(s, none, it, counts);
  EXPECT_FALSE(k.informative);
  EXPECT_EQ(k.uniform_share, 0.5);
  EXPECT_EQ(k.to_json()["uniform_share"], 0.5);
}

TEST(NoiseKind, WeightsTurnEvenOddsIntoTheEstimatedMixture) {
  const std::vector<int64_t> counts = zipf_counts(2000);
  const Calibration c = make_calibration(0.5, 11, counts);
  std::vector<int32_t> pos_items;
  for (size_t e = 0; e < c.items.size(); ++e)
    if (c.positive[e]) pos_items.push_back(c.items[e]);
  for (float w : kind_weights(pos_items, counts, 0.5)) ASSERT_EQ(w, 1.0f);
  // The weighted even-odds sample has the mixture's mean log count: w E_uniform + (1 − w) E_popularity.
  double e_uniform = 0, e_popular = 0, total = 0;
  for (int64_t n : counts) total += double(n) + 1;
  for (int64_t n : counts)
    e_uniform += std::log1p(double(n)) / double(counts.size()), e_popular += std::log1p(double(n)) * (double(n) + 1) / total;
  for (double w_mix : {0.0, 0.25, 0.9, 1.0}) {
    const std::vector<float> w = kind_weights(pos_items, counts, w_mix);
    double sum_w = 0, sum_lc = 0;
    for (size_t e = 0; e < w.size(); ++e)
      sum_w += w[e], sum_lc += w[e] * std::log1p(double(counts[size_t(pos_items[e]) - 1]));
    EXPECT_NEAR(sum_w / double(w.size()), 1.0, 0.05) << w_mix;  // mean 1 over an even-odds sample
    EXPECT_NEAR(sum_lc / sum_w, w_mix * e_uniform + (1 - w_mix) * e_popular, 0.1) << w_mix;
  }
  EXPECT_GT(e_popular - e_uniform, 2.0);  // the kinds are far apart next to the tolerance above
}

TEST(NoiseKind, BadInputIsRefused) {
  const std::vector<int64_t> counts = {1, 2, 3};
  const std::vector<float> s = {1, 2};
  const std::vector<uint8_t> p = {1, 0};
  EXPECT_THROW(estimate_noise_kind(s, p, std::vector<int32_t>{1, 4}, counts), Error);  // item 4 > V
  EXPECT_THROW(estimate_noise_kind(s, p, std::vector<int32_t>{1}, counts), Error);     // sizes differ
  EXPECT_THROW(estimate_noise_kind(s, p, std::vector<int32_t>{1, 2}, counts, 0.0), Error);
  EXPECT_THROW(kind_weights(std::vector<int32_t>{0}, counts, 0.5), Error);
  EXPECT_THROW(kind_weights(std::vector<int32_t>{1}, counts, 1.5), Error);
}

}  // namespace
}  // namespace seqmend
