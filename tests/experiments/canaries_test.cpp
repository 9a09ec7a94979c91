// Canaries (experiments/train/canaries.h): the same user gets the same canaries in the train split the
// encoder saw and in the valid split fine-tuning calibrates on, except next to the protected tail.
#include <gtest/gtest.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/train/canaries.h"

namespace seqmend {
namespace {

TEST(Canaries, AUserGetsTheSameCanariesInAPrefixAsInTheWholeSequence) {
  SequenceSet full, prefix;
  Rng rng(3, 0);
  for (int64_t u = 0; u < 300; ++u) {
    std::vector<int32_t> items;
    for (int i = 0; i < 60; ++i) items.push_back(int32_t(1 + rng.below(400)));
    full.append(u, items.data(), 60, nullptr, nullptr, nullptr, 0);
    prefix.append(u, items.data(), 59, nullptr, nullptr, nullptr, 0);
  }
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

}  // namespace
}  // namespace seqmend
