// The collective constructor of RecEvaluator, in a file of its own: distributed/communicator.h and
// core/tensor.h (through core/model.h in rec_eval.cpp) both declare seqmend::DType and dtype_of, so
// no translation unit can include both.
#include "core/base/error.h"
#include "distributed/communicator.h"
#include "experiments/rec_eval.h"
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

}  // namespace seqmend
