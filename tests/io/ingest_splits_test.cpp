// Splits: what each of train/valid/test holds, and that no target leaks into training.
#include <gtest/gtest.h>

#include <set>

#include "io/splits.h"
#include "tests/io/ingest_test_util.h"

namespace seqmend {
namespace {

// Users 0..2 with lengths 5, 2, 3; items 1..; timestamps 10·k.
SequenceSet sample() {
  SequenceSet s;
  int32_t a[] = {1, 2, 3, 4, 5}, b[] = {6, 7}, c[] = {8, 9, 1};
  int64_t ta[] = {10, 20, 30, 40, 50}, tb[] = {15, 45}, tc[] = {5, 25, 60};
  s.append(0, a, 5, ta);
  s.append(1, b, 2, tb);
  s.append(2, c, 3, tc);
  return s;
}

std::vector<int32_t> items_of(const SequenceSet& s, int64_t k) {
  return {s.item.begin() + s.offsets[size_t(k)], s.item.begin() + s.offsets[size_t(k) + 1]};
}

TEST(IngestSplits, LeaveOneOutHoldsPrefixes) {
  SplitSets s = make_splits(sample(), IngestSplitOptions{});
  ASSERT_EQ(s.test.num_sequences(), 2);  // user 1 has only 2 events
  EXPECT_EQ(s.info["users_dropped_fewer_than_3_events"], 1);
  EXPECT_EQ(s.train.user, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(items_of(s.train, 0), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(items_of(s.valid, 0), (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(items_of(s.test, 0), (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(items_of(s.train, 1), (std::vector<int32_t>{8}));
  EXPECT_EQ(items_of(s.test, 1), (std::vector<int32_t>{8, 9, 1}));
  EXPECT_EQ(s.valid.timestamp, (std::vector<int64_t>{10, 20, 30, 40, 5, 25}));
  // The valid and test targets (last events) never sit in train at their position.
  for (int64_t k = 0; k < s.train.num_sequences(); ++k) {
    EXPECT_EQ(s.valid.length(k), s.train.length(k) + 1);
    EXPECT_EQ(s.test.length(k), s.train.length(k) + 2);
  }
}

TEST(IngestSplits, TemporalNeverTrainsOnEventsAfterTheValidationCut) {
  IngestSplitOptions o;
  o.method = "temporal";
  o.valid_time = 30;
  o.test_time = 45;
  SplitSets s = make_splits(sample(), o);
  // train: before 30 → user 0: 10,20; user 1: 15; user 2: 5,25.
  EXPECT_EQ(s.train.user, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(s.train.timestamp, (std::vector<int64_t>{10, 20, 15, 5, 25}));
  for (int64_t ts : s.train.timestamp) EXPECT_LT(ts, 30);
  // valid: + first event in [30, 45) → only user 0 (30).
  EXPECT_EQ(s.valid.user, (std::vector<int64_t>{0}));
  EXPECT_EQ(s.valid.timestamp, (std::vector<int64_t>{10, 20, 30}));
  // test: before 45 + first at or after 45 → user 0 (…40, 50), user 1 (15, 45), user 2 (5, 25, 60).
  EXPECT_EQ(s.test.user, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(items_of(s.test, 0), (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(items_of(s.test, 1), (std::vector<int32_t>{6, 7}));
  EXPECT_EQ(items_of(s.test, 2), (std::vector<int32_t>{8, 9, 1}));
  EXPECT_EQ(s.info["valid_time"], 30);
}

TEST(IngestSplits, TemporalCutsFromFractions) {
  IngestSplitOptions o;
  o.method = "temporal";
  o.valid_fraction = 0.2;
  o.test_fraction = 0.2;
  SplitSets s = make_splits(sample(), o);
  // Times sorted: 5 10 15 20 25 30 40 45 50 60 → quantile 0.6 → index 6 (40), 0.8 → index 8 (50).
  EXPECT_EQ(s.info["valid_time"], 40);
  EXPECT_EQ(s.info["test_time"], 50);
}

TEST(IngestSplits, ChunksAddUpToTheWhole) {
  for (const char* method : {"leave_one_out", "temporal"}) {
    IngestSplitOptions o;
    o.method = method;
    o.valid_time = 30;
    o.test_time = 45;
    SequenceSet all = sample();
    SplitSets whole = make_splits(all, o);
    SplitBuilder counter(all, o), chunked(all, o);
    counter.add(0, all.num_sequences(), nullptr);
    EXPECT_EQ(counter.info(), whole.info) << method;
    SplitSets parts;
    for (int64_t s = 0; s < all.num_sequences(); ++s) chunked.add(s, s + 1, &parts);
    EXPECT_EQ(parts.train.item, whole.train.item) << method;
    EXPECT_EQ(parts.valid.offsets, whole.valid.offsets) << method;
    EXPECT_EQ(parts.test.timestamp, whole.test.timestamp) << method;
    EXPECT_EQ(chunked.info(), whole.info) << method;
  }
}

TEST(IngestSplits, TemporalNeedsTimestamps) {
  SequenceSet s;
  int32_t a[] = {1, 2, 3};
  s.append(0, a, 3);
  IngestSplitOptions o;
  o.method = "temporal";
  std::string msg = test::error_of([&] { make_splits(s, o); });
  EXPECT_NE(msg.find("needs timestamps"), std::string::npos) << msg;
}

}  // namespace
}  // namespace seqmend
