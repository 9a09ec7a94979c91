// Next-item ranking metrics from the rank of each user's target (0 = scored first). Metrics are
// computed from a histogram of ranks rather than from a list of per-user values: ranks are integers,
// so histograms from any number of processes sum exactly (int64), and the metrics are then folded
// in rank order on every process. 1 rank or N ranks, any user order: the same bits.
//
// With one relevant item per user, for a cut-off K:
//   HR@K   = (1/U) Σ_u [rank_u < K]
//   NDCG@K = (1/U) Σ_u [rank_u < K] / log2(rank_u + 2)      (the ideal DCG is 1)
//   MRR    = (1/U) Σ_u 1 / (rank_u + 1)                       (uncut: over the whole ranking)
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace seqmend {

class Communicator;

class RankHistogram {
 public:
  // Ranks 0..max_rank can be recorded.
  explicit RankHistogram(int64_t max_rank = 0);

  void add(int64_t rank);  // throws naming the rank when it is outside [0, max_rank]
  int64_t max_rank() const { return int64_t(counts_.size()) - 1; }
  int64_t num_users() const;
  const std::vector<int64_t>& counts() const { return counts_; }  // (max_rank + 1) users per rank

  // Every process ends up holding the sum of all processes' histograms. Collective; the histograms
  // must have the same max_rank everywhere (checked, the error names both sizes).
  void sum_over(Communicator& comm);

 private:
  std::vector<int64_t> counts_;
};

// {"hr@K": .., "ndcg@K": .. for each K in ks, "mrr": .., "num_users": U}. With no users every
// metric is 0.
nlohmann::json rank_metrics(const RankHistogram& h, const std::vector<int64_t>& ks);

}  // namespace seqmend
