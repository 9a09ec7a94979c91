// Canaries (experiments/train/canaries.h): the same user gets the same canaries in a prefix of a
// sequence as in the whole, except next to the protected tail. Near the tail a split one event longer
// holds canaries the other never had, a large share of a short sequence's: fine-tuning calibrates on
// the very split pretraining saw.
#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/train/canaries.h"

namespace seqmend {
namespace {

// `users` sequences of `length` random items out of 400, and the same without their last event.
std::pair<SequenceSet, SequenceSet> whole_and_prefix(int64_t users, int length, uint64_t seed) {
  SequenceSet whole, prefix;
  Rng rng(seed, 0);
  for (int64_t u = 0; u < users; ++u) {
    std::vector<int32_t> items;
    for (int i = 0; i < length; ++i) items.push_back(int32_t(1 + rng.below(400)));
    whole.append(u, items.data(), length, nullptr, nullptr, nullptr, 0);
    prefix.append(u, items.data(), length - 1, nullptr, nullptr, nullptr, 0);
  }
  return {whole, prefix};
}

TEST(Canaries, AUserGetsTheSameCanariesInAPrefixAsInTheWholeSequence) {
  const auto [full, prefix] = whole_and_prefix(300, 60, 3);
  CanaryConfig cfg;
  cfg.enabled = true;
  cfg.inject.edit.delete_prob = cfg.inject.edit.insert_prob = 0.05;
  const SequenceSet a = with_canaries(full, cfg, 400, {}), b = with_canaries(prefix, cfg, 400, {});
  // A noise item is drawn from outside the user's items, and the whole sequence holds one item more
  // than its prefix: a draw that hits that item is redrawn, and the user's stream moves on from
  // there. That is rare; every other user matches event for event.
  int64_t canaries = 0, compared = 0, same_users = 0;
  for (int64_t s = 0; s < 300; ++s) {
    bool same = true;
    for (int64_t j = 0; j < 50; ++j) {  // the first 50 output events: far from either tail
      const size_t ea = size_t(a.offsets[size_t(s)] + j), eb = size_t(b.offsets[size_t(s)] + j);
      same = same && a.item[ea] == b.item[eb] && a.label[ea] == b.label[eb];
      canaries += a.label[ea] != kLabelClean;
      ++compared;
    }
    same_users += same;
  }
  EXPECT_GE(same_users, 285);
  EXPECT_GT(canaries, compared / 20);
  cfg.inject.bot_rate = 0.1;
  EXPECT_THROW(with_canaries(full, cfg, 400, {}), Error);
}

TEST(Canaries, ASplitOneEventLongerHoldsFreshCanariesInShortSequences) {
  const auto [valid, train] = whole_and_prefix(10000, 7, 5);
  CanaryConfig cfg;
  cfg.enabled = true;
  const SequenceSet a = with_canaries(train, cfg, 400, {}), b = with_canaries(valid, cfg, 400, {});
  auto canaries_of = [](const SequenceSet& s, int64_t q) {
    std::vector<int32_t> c;
    for (int64_t e = s.offsets[size_t(q)]; e < s.offsets[size_t(q) + 1]; ++e)
      if (s.label[size_t(e)] == kLabelNoiseClick) c.push_back(s.item[size_t(e)]);
    std::sort(c.begin(), c.end());
    return c;
  };
  int64_t in_valid = 0, fresh = 0;
  for (int64_t q = 0; q < 10000; ++q) {
    const std::vector<int32_t> seen = canaries_of(a, q);
    for (int32_t item : canaries_of(b, q)) {
      ++in_valid;
      fresh += !std::binary_search(seen.begin(), seen.end(), item);
    }
  }
  ASSERT_GT(in_valid, 800);
  // Six events, two protected: the valid copy has four insertion points to the train copy's three,
  // so about a fifth of its canaries are new (the same split re-injected has none).
  EXPECT_GT(double(fresh) / double(in_valid), 0.15) << fresh << " of " << in_valid;
  EXPECT_EQ(canaries_of(with_canaries(train, cfg, 400, {}), 7), canaries_of(a, 7));
}

}  // namespace
}  // namespace seqmend
