// fast_exp against std::exp in double over the whole float range, plus the special values the
// softmax kernels rely on (exp(−inf) = 0 for masked scores, NaN propagates so bad losses surface).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/fast_exp.h"

namespace seqmend {
namespace {

TEST(FastExp, RelativeErrorBelowTwoUlpOverTheRange) {
  double worst = 0;
  float at = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
    const double want = std::exp(double(x));
    const double rel = std::fabs(double(fast_exp(x)) - want) / want;
    if (rel > worst) { worst = rel; at = x; }
  }
  EXPECT_LT(worst, 2.5e-7) << "worst at x = " << at;
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
}

TEST(FastExp, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fast_exp(-inf), 0.0f);
  EXPECT_EQ(fast_exp(-100.0f), 0.0f);
  EXPECT_EQ(fast_exp(inf), inf);
  EXPECT_EQ(fast_exp(100.0f), inf);
  EXPECT_TRUE(std::isnan(fast_exp(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace
}  // namespace seqmend
