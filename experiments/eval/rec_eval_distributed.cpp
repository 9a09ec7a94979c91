// The collective parts of RecEvaluator (constructor, all_ranks), in a file of their own: distributed/communicator.h and
// core/tensor.h (through core/model.h in rec_eval.cpp) both declare seqmend::DType and dtype_of, so
// no translation unit can include both.
#include <algorithm>
#include <cstring>

#include "core/base/error.h"
#include "distributed/communicator.h"
#include "experiments/eval/rec_eval.h"
#include "io/shard_set.h"

namespace seqmend {

RecEvaluator::RecEvaluator(const ShardSet& set, const EvalConfig& cfg, Communicator& comm)
    : RecEvaluator(set, cfg, comm.rank(), comm.world(), [&] {
        // Popularity weights are global train counts: each process counts its own train shards and
        // the int64 sums are exact, so every process gets the same weights (and the same negatives).
        std::vector<int64_t> counts;
        EvalConfig checked = cfg;
        checked.validate();
        if (checked.protocol == "sampled" && checked.sampling == "popularity") {
          const std::vector<int64_t> mine =
              assign_shards(set.split("train").num_shards(), comm.rank(), comm.world());
          counts = count_split_items(set, "train", &mine);
          comm.allreduce_sum(counts.data(), counts.size());
        }
        return counts;
      }()) {}

std::vector<UserRank> RecEvaluator::all_ranks(ItemTransformer& model, Communicator& comm) const {
  std::vector<UserRank> mine = rank_users(model);
  // allgather takes the same byte count from every rank: agree on the longest list, pad with user −1.
  const int64_t count = int64_t(mine.size());
  const std::vector<std::byte> counts = comm.allgather(&count, sizeof(count));
  int64_t longest = 0;
  for (int r = 0; r < comm.world(); ++r) {
    int64_t theirs = 0;
    std::memcpy(&theirs, counts.data() + size_t(r) * sizeof(int64_t), sizeof(int64_t));
    longest = std::max(longest, theirs);
  }
  mine.resize(size_t(longest), UserRank{-1, 0});
  const std::vector<std::byte> all = comm.allgather(mine.data(), mine.size() * sizeof(UserRank));
  std::vector<UserRank> out;
  for (size_t i = 0; i < all.size() / sizeof(UserRank); ++i) {
    UserRank r;
    std::memcpy(&r, all.data() + i * sizeof(UserRank), sizeof(UserRank));
    if (r.user >= 0) out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const UserRank& a, const UserRank& b) { return a.user < b.user; });
  return out;
}

}  // namespace seqmend
