#include "experiments/train/canaries.h"

#include "core/base/error.h"

namespace seqmend {

SequenceSet with_canaries(const SequenceSet& set, const CanaryConfig& cfg, int64_t num_items,
                          const std::vector<int64_t>& item_counts) {
  SEQ_CHECK(cfg.inject.bot_rate == 0, "canaries.inject.bot_rate must be 0 (bots are new users, not canaries), got ",
            cfg.inject.bot_rate);
  const SequenceSet plain = without_labels(set);
  InjectionContext ctx;
  ctx.num_items = num_items;
  ctx.item_counts = item_counts;
  return Injector(plain, cfg.inject, ctx).run(cfg.seed, 1).data;
}

}  // namespace seqmend
