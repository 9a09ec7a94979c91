// Time features (experiments/detect/time_features.h) against hand-computed values, and a set without
// timestamps gives none.
#include <gtest/gtest.h>

#include <cmath>

#include "experiments/detect/time_features.h"

namespace seqmend {
namespace {

TEST(TimeFeatures, GapsNeighboursAndTheUsersUsualStep) {
  SequenceSet set;
  set.offsets = {0, 5, 6};
  set.item = {1, 2, 3, 4, 5, 6};
  set.user = {0, 1};
  // User 0: 100, 100, 110, 140, 130 (a clock that went back: gap 0). Gaps 0, 10, 30, 0; nonzero
  // median 20; log-gap median over (0, 10, 30, 0) = (log 1 + log 11) / 2.
  // User 1: a single event.
  set.timestamp = {100, 100, 110, 140, 130, 7};
  const TimeFeatures f = time_features(set);
  ASSERT_EQ(f.alone.size(), 6u);
  const double first = 0.5 * (std::log(1.0) + std::log(11.0));
  const std::vector<double> before = {first, 0.0, std::log(11.0), std::log(31.0), 0.0, 0.0};
  const std::vector<double> after = {0.0, std::log(11.0), std::log(31.0), 0.0, 0.0, 0.0};
  for (size_t e = 0; e < 6; ++e) {
    EXPECT_NEAR(f.log_gap_before[e], before[e], 1e-6) << e;
    EXPECT_NEAR(f.log_gap_after[e], after[e], 1e-6) << e;
  }
  EXPECT_EQ(f.alone, (std::vector<float>{0, 0, 1, 1, 1, 1}));
  for (size_t e = 0; e < 5; ++e) EXPECT_NEAR(f.gap_vs_user[e], before[e] - std::log(21.0), 1e-6) << e;
  EXPECT_NEAR(f.gap_vs_user[5], 0.0, 1e-6) << "a user without any gap has no usual step";
}

TEST(TimeFeatures, NoTimestampsNoFeatures) {
  SequenceSet set;
  set.offsets = {0, 2};
  set.item = {1, 2};
  set.user = {0};
  const TimeFeatures f = time_features(set);
  EXPECT_TRUE(f.log_gap_before.empty() && f.log_gap_after.empty() && f.alone.empty() && f.gap_vs_user.empty());
}

}  // namespace
}  // namespace seqmend
