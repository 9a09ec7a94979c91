// The paired bootstrap over users (experiments/eval/user_bootstrap.h): point estimates equal the
// differences of the metric means, intervals cover a known shift and shrink with more users, a cost
// that is all noise is called so, and the draws are reproducible from the seed.
#include "experiments/eval/user_bootstrap.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/rng.h"

namespace seqmend {
namespace {

// `seeds` lists of `users` ranks; rank of user u in seed s from f(u, s).
template <typename F>
SeedRanks make_ranks(int64_t users, int seeds, F f) {
  SeedRanks out(static_cast<size_t>(seeds));
  for (int s = 0; s < seeds; ++s)
    for (int64_t u = 0; u < users; ++u) out[size_t(s)].push_back({u, f(u, s)});
  return out;
}

TEST(UserBootstrap, UserMetricMatchesTheRankMetricsDefinitions) {
  BootstrapConfig c;
  EXPECT_DOUBLE_EQ(user_metric(c, 0), 1.0);
  EXPECT_DOUBLE_EQ(user_metric(c, 2), 1.0 / std::log2(4.0));
  EXPECT_DOUBLE_EQ(user_metric(c, 10), 0.0);  // k = 10: ranks 0..9 count
  c.metric = "hr";
  EXPECT_DOUBLE_EQ(user_metric(c, 9), 1.0);
  EXPECT_DOUBLE_EQ(user_metric(c, 10), 0.0);
  c.metric = "mrr";
  EXPECT_DOUBLE_EQ(user_metric(c, 3), 0.25);
  c.metric = "auc";
  EXPECT_THROW(user_metric(c, 3), std::exception);
}

TEST(UserBootstrap, PointEstimatesAreTheDifferencesOfTheMeans) {
  Rng rng(5);
  const int64_t U = 400;
  std::vector<int64_t> base(U);
  for (auto& r : base) r = int64_t(rng.below(30));
  const SeedRanks raw = make_ranks(U, 2, [&](int64_t u, int s) { return base[size_t(u)] + s; });
  const SeedRanks rep = make_ranks(U, 2, [&](int64_t u, int) { return std::max<int64_t>(0, base[size_t(u)] - 1); });
  const SeedRanks cln = make_ranks(U, 2, [&](int64_t u, int) { return std::max<int64_t>(0, base[size_t(u)] - 3); });
  BootstrapConfig c;
  const nlohmann::json j = paired_user_bootstrap(raw, rep, cln, c);
  auto mean = [&](const SeedRanks& s) {
    double sum = 0;
    for (const auto& seed : s)
      for (const UserRank& r : seed) sum += user_metric(c, r.rank);
    return sum / double(U * int64_t(s.size()));
  };
  const double d_rep = mean(rep) - mean(raw), d_cln = mean(cln) - mean(raw);
  EXPECT_NEAR(j["repaired_minus_raw"]["mean"].get<double>(), d_rep, 1e-12);
  EXPECT_NEAR(j["clean_minus_raw"]["mean"].get<double>(), d_cln, 1e-12);
  EXPECT_NEAR(j["recovered_share"]["value"].get<double>(), d_rep / d_cln, 1e-9);
  EXPECT_EQ(j["users"], U);
  EXPECT_EQ(j["users_left_out"], 0);
  EXPECT_EQ(j["metric"], "ndcg@10");
  // Every user gains: the cost is real, the interval excludes 0 and holds the point estimate.
  EXPECT_FALSE(j["cost_within_noise"].get<bool>());
  EXPECT_FALSE(j["recovery_within_noise"].get<bool>());
  const auto& share = j["recovered_share"];
  EXPECT_LE(share["low"].get<double>(), d_rep / d_cln);
  EXPECT_GE(share["high"].get<double>(), d_rep / d_cln);
  EXPECT_EQ(paired_user_bootstrap(raw, rep, cln, c), j) << "same seed, same draws";
}

// Pure noise: per-user differences of mean zero. The intervals must hold 0 in most experiments
// (95 % nominal; checked over 40 independent experiments) and the cost must be called noise.
TEST(UserBootstrap, IntervalsCoverTheTruthAtAboutTheirLevel) {
  int covered = 0, called_noise = 0;
  const int experiments = 40;
  for (int e = 0; e < experiments; ++e) {
    Rng rng(1000 + uint64_t(e));
    const int64_t U = 300;
    auto draw = [&](int64_t, int) { return int64_t(rng.below(20)); };
    const SeedRanks raw = make_ranks(U, 1, draw), rep = make_ranks(U, 1, draw), cln = make_ranks(U, 1, draw);
    BootstrapConfig c;
    c.metric = "mrr";
    c.resamples = 500;
    c.seed = uint64_t(e);
    const nlohmann::json j = paired_user_bootstrap(raw, rep, cln, c);
    const auto& d = j["repaired_minus_raw"];
    covered += d["low"].get<double>() <= 0 && d["high"].get<double>() >= 0;
    called_noise += j["cost_within_noise"].get<bool>();
    if (j["cost_within_noise"].get<bool>()) {
      EXPECT_TRUE(j["recovered_share"]["low"].is_null());
    }
  }
  EXPECT_GE(covered, 33);  // P(X <= 32) < 0.001 for Binomial(40, 0.95)
  EXPECT_GE(called_noise, 33);
}

TEST(UserBootstrap, MoreUsersNarrowTheInterval) {
  auto width = [](int64_t U) {
    Rng rng(7);
    std::vector<int64_t> a(static_cast<size_t>(U)), b(static_cast<size_t>(U));
    for (int64_t u = 0; u < U; ++u) a[size_t(u)] = int64_t(rng.below(20)), b[size_t(u)] = int64_t(rng.below(15));
    const SeedRanks raw = make_ranks(U, 1, [&](int64_t u, int) { return a[size_t(u)]; });
    const SeedRanks rep = make_ranks(U, 1, [&](int64_t u, int) { return b[size_t(u)]; });
    BootstrapConfig c;
    c.metric = "mrr";
    const nlohmann::json j = paired_user_bootstrap(raw, rep, {}, c);
    EXPECT_FALSE(j.contains("clean_minus_raw"));
    return j["repaired_minus_raw"]["high"].get<double>() - j["repaired_minus_raw"]["low"].get<double>();
  };
  const double w100 = width(100), w1600 = width(1600);
  // The standard error falls as 1/sqrt(U): 16x the users, about a quarter of the width.
  EXPECT_GT(w100 / w1600, 3.0);
  EXPECT_LT(w100 / w1600, 5.3);
}

TEST(UserBootstrap, UsersMissingFromASetOrASeedAreLeftOutAndCounted) {
  const SeedRanks raw = make_ranks(50, 2, [](int64_t, int) { return int64_t(3); });
  SeedRanks rep = make_ranks(50, 2, [](int64_t, int) { return int64_t(1); });
  rep[1].pop_back();                     // user 49 missing from one seed (a quarantined user, say)
  rep[0].erase(rep[0].begin());          // user 0 missing from another
  const nlohmann::json j = paired_user_bootstrap(raw, rep, {}, BootstrapConfig{});
  EXPECT_EQ(j["users"], 48);
  EXPECT_EQ(j["users_left_out"], 2);
  EXPECT_NEAR(j["repaired_minus_raw"]["mean"].get<double>(), 1.0 / std::log2(3.0) - 1.0 / std::log2(5.0), 1e-12);
  EXPECT_THROW(paired_user_bootstrap({}, rep, {}, BootstrapConfig{}), std::exception);
  const SeedRanks others = make_ranks(5, 1, [](int64_t, int) { return int64_t(0); });
  SeedRanks shifted = others;
  for (auto& r : shifted[0]) r.user += 100;
  EXPECT_THROW(paired_user_bootstrap(others, shifted, {}, BootstrapConfig{}), std::exception);
}

}  // namespace
}  // namespace seqmend
