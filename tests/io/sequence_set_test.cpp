// SequenceSet::append_from: a sequence (or its prefix) copied with every column the source has —
// labels and the sequence label included, none invented for a set without them.
#include <gtest/gtest.h>

#include <vector>

#include "io/sequence_set.h"

namespace seqmend {
namespace {

SequenceSet two_sequences(bool labelled) {
  SequenceSet s;
  const int32_t a[] = {3, 1, 4}, b[] = {1, 5};
  const int64_t ta[] = {10, 20, 30}, tb[] = {7, 8};
  const int8_t aa[] = {0, 1, 2}, ab[] = {3, 0};
  const int8_t la[] = {0, kLabelNoiseClick, 0}, lb[] = {0, 0};
  s.append(100, a, 3, ta, aa, labelled ? la : nullptr, 0);
  s.append(200, b, 2, tb, ab, labelled ? lb : nullptr, labelled ? int8_t(kLabelBotPush) : int8_t(0));
  return s;
}

TEST(SequenceSet, AppendFromCopiesEveryColumnTheSourceHas) {
  for (bool labelled : {false, true}) {
    const SequenceSet from = two_sequences(labelled);
    SequenceSet to;
    to.append_from(from, 1);
    to.append_from(from, 0, 2);  // a prefix
    to.validate(5);
    EXPECT_EQ(to.user, (std::vector<int64_t>{200, 100}));
    EXPECT_EQ(to.offsets, (std::vector<int64_t>{0, 2, 4}));
    EXPECT_EQ(to.item, (std::vector<int32_t>{1, 5, 3, 1}));
    EXPECT_EQ(to.timestamp, (std::vector<int64_t>{7, 8, 10, 20}));
    EXPECT_EQ(to.action, (std::vector<int8_t>{3, 0, 0, 1}));
    if (labelled) {
      EXPECT_EQ(to.label, (std::vector<int8_t>{0, 0, 0, kLabelNoiseClick}));
      EXPECT_EQ(to.seq_label, (std::vector<int8_t>{kLabelBotPush, 0}));
    } else {
      EXPECT_FALSE(to.has_labels());
      EXPECT_TRUE(to.seq_label.empty());
    }
  }
}

}  // namespace
}  // namespace seqmend
