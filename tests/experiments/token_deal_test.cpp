// Dealing by tokens (experiments/train/token_deal.h): every position to exactly one rank, the same deal
// from the same costs, the greedy bound, and balance at scale on lengths like the simulator's.
#include "experiments/train/token_deal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/base/rng.h"

namespace seqmend {
namespace {

// Sequence lengths as the simulator draws them (log-normal, median 60, 5..300), capped at max_len.
std::vector<int64_t> simulated_costs(Rng& rng, size_t n, int64_t max_len) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    const double u1 = (double(rng.below(1u << 30)) + 0.5) / double(1u << 30);
    const double u2 = (double(rng.below(1u << 30)) + 0.5) / double(1u << 30);
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    const int64_t len = std::clamp<int64_t>(int64_t(std::llround(60.0 * std::exp(0.8 * z))), 5, 300);
    out.push_back(std::min(len, max_len));
  }
  return out;
}

TEST(TokenDeal, EveryPositionOnceTheSameDealAndTheGreedyBound) {
  Rng rng(3);
  for (int world : {1, 2, 3, 8}) {
    for (size_t n : {size_t(0), size_t(1), size_t(5), size_t(100)}) {
      const std::vector<int64_t> cost = simulated_costs(rng, n, 200);
      const std::vector<int> a = deal_by_tokens(cost, world);
      EXPECT_EQ(a, deal_by_tokens(cost, world));
      ASSERT_EQ(a.size(), n);
      std::vector<int64_t> load(static_cast<size_t>(world), 0);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_GE(a[i], 0);
        ASSERT_LT(a[i], world);
        load[size_t(a[i])] += cost[i];
      }
      if (n == 0) {
        EXPECT_EQ(token_balance(cost, a, world), 1.0);
        continue;
      }
      const int64_t largest = *std::max_element(cost.begin(), cost.end());
      EXPECT_LE(*std::max_element(load.begin(), load.end()) - *std::min_element(load.begin(), load.end()), largest)
          << "world " << world << ", " << n << " sequences";
      if (world == 1) {
        EXPECT_EQ(token_balance(cost, a, world), 1.0);
      }
    }
  }
  // Equal costs: round-robin from rank 0, in position order.
  EXPECT_EQ(deal_by_tokens({4, 4, 4, 4, 4}, 2), (std::vector<int>{0, 1, 0, 1, 0}));
  EXPECT_EQ(deal_by_tokens({1, 9, 5}, 2), (std::vector<int>{1, 0, 1}));
  EXPECT_THROW(deal_by_tokens({1}, 0), std::exception);
}

// Data parallelism at scale, on paper: a per-rank batch of 64 sequences (global batch 64 W), the
// mean over 40 batches of max/mean tokens per rank stays within 5 % up to 64 ranks.
TEST(TokenDeal, BalancedUpToSixtyFourRanks) {
  for (int world : {2, 8, 64}) {
    Rng rng(static_cast<uint64_t>(world));
    double sum = 0;
    for (int b = 0; b < 40; ++b) {
      const std::vector<int64_t> cost = simulated_costs(rng, size_t(64 * world), 200);
      sum += token_balance(cost, deal_by_tokens(cost, world), world);
    }
    EXPECT_LE(sum / 40, 1.05) << "world " << world;
  }
}

}  // namespace
}  // namespace seqmend
