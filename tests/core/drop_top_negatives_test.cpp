// drop_top_negatives (core/detector.h): which labelled negatives leave the loss.
#include <gtest/gtest.h>

#include <vector>

#include "core/base/error.h"
#include "core/detector.h"

namespace seqmend {
namespace {

TEST(DropTopNegatives, LeavesOutTheHighestScoringShareOfLabelledNegatives) {
  //                          0    1    2    3    4    5    6    7
  const std::vector<float> y = {0, 0, 1, 0, 0, 0, 0, 0};
  std::vector<float> w = {1, 1, 1, 0, 1, 1, 1, 1};  // event 3 is not labelled
  const std::vector<float> p = {0.1f, 0.9f, 0.99f, 0.95f, 0.5f, 0.5f, 0.2f, 0.3f};
  // 6 labelled negatives, share 0.5 → the 3 highest: 1 (0.9), then 4 and 5 (0.5 tie, by index).
  drop_top_negatives(y, w, p, 0.5);
  EXPECT_EQ(w, (std::vector<float>{1, 0, 1, 0, 0, 0, 1, 1}));
  // Share 0 or too few negatives for one: nothing changes; positives are never dropped.
  std::vector<float> w2 = {1, 1, 1, 0, 1, 1, 1, 1};
  drop_top_negatives(y, w2, p, 0.1);
  EXPECT_EQ(w2, (std::vector<float>{1, 1, 1, 0, 1, 1, 1, 1}));
  EXPECT_THROW(drop_top_negatives(y, w2, p, 1.5), Error);
  EXPECT_THROW(drop_top_negatives(y, w2, std::vector<float>(3), 0.5), Error);
}

}  // namespace
}  // namespace seqmend
