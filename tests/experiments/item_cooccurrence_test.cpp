// Item co-occurrence features (experiments/detect/item_cooccurrence.h): counts over users, the scored
// sequence left out, against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "experiments/detect/item_cooccurrence.h"

namespace seqmend {
namespace {

SequenceSet of(const std::vector<std::vector<int32_t>>& seqs) {
  SequenceSet s;
  for (size_t u = 0; u < seqs.size(); ++u) {
    for (int32_t it : seqs[u]) s.item.push_back(it);
    s.offsets.push_back(int64_t(s.item.size()));
    s.user.push_back(int64_t(u));
  }
  return s;
}

TEST(ItemCooccurrence, CountsOverOtherUsersOnly) {
  // A = {1, 2, 3}, B = {1, 2}, C = {1, 2, 4}, D = {3, 4}.
  const SequenceSet set = of({{1, 2, 3}, {1, 2}, {1, 2, 4}, {3, 4}});
  CooccurrenceOptions o;
  o.top_k = 1;
  const CooccurrenceFeatures f = cooccurrence_features(set, 5, o);
  ASSERT_EQ(f.cosine_mean.size(), 10u);
  // A's item 1 beside 2: users B and C hold both (A left out), n(1) = n(2) = 2 → cosine 1; beside 3:
  // only A holds both → 0. Mean 0.5, top-1 1, log(1 + 2).
  EXPECT_FLOAT_EQ(f.cosine_mean[0], 0.5f);
  EXPECT_FLOAT_EQ(f.cosine_top[0], 1.0f);
  EXPECT_FLOAT_EQ(f.log_count[0], float(std::log(3.0)));
  // Jaccard to the neighbours (all within ±5): beside 2, 2 / (2 + 2 − 2) = 1; beside 3, 0.
  EXPECT_FLOAT_EQ(f.jaccard_near[0], 0.5f);
  EXPECT_FLOAT_EQ(f.jaccard_near[2], 0.0f);
  // A's item 3 shares no other user with 1 or 2: the out-of-place item.
  EXPECT_FLOAT_EQ(f.cosine_mean[2], 0.0f);
  EXPECT_FLOAT_EQ(f.cosine_top[2], 0.0f);
  EXPECT_FLOAT_EQ(f.log_count[2], float(std::log(2.0)));
  // C's item 4 beside 1 and 2: no other user holds 4 with either; n(4) without C = 1 (D).
  EXPECT_FLOAT_EQ(f.cosine_mean[7], 0.0f);
  // C's item 1 beside 2: A and B hold both → 2 / sqrt(2 · 2) = 1; beside 4: 0.
  EXPECT_FLOAT_EQ(f.cosine_mean[5], 0.5f);
  // Jaccard with a window of 1: C's item 1 (position 0) sees only item 2 → 1.
  CooccurrenceOptions narrow;
  narrow.window = 1;
  EXPECT_FLOAT_EQ(cooccurrence_features(set, 5, narrow).jaccard_near[5], 1.0f);
  // D's item 3 beside 4: nobody else holds both.
  EXPECT_FLOAT_EQ(f.cosine_top[8], 0.0f);
}

TEST(ItemCooccurrence, RepeatsCountOnceAndTheWindowBoundsTheSequence) {
  // A user's repeated item counts once; an item outside the last max_items distinct items is scored
  // against the window without its own contribution to remove.
  const SequenceSet set = of({{1, 1, 2}, {1, 2}, {3, 1, 2}});
  CooccurrenceOptions o;
  o.max_items = 2;
  const CooccurrenceFeatures f = cooccurrence_features(set, 3, o);
  // User 0, item 1 beside 2: users 1 and 2 hold both → cosine 2 / sqrt(2 · 2) = 1.
  EXPECT_FLOAT_EQ(f.cosine_mean[0], 1.0f);
  EXPECT_FLOAT_EQ(f.cosine_mean[1], 1.0f);
  // User 2's item 3 lies outside its window {1, 2}: not counted for it, so nobody holds 3.
  EXPECT_FLOAT_EQ(f.cosine_mean[5], 0.0f);
  EXPECT_FLOAT_EQ(f.log_count[5], 0.0f);
}

}  // namespace
}  // namespace seqmend
