#include "experiments/eval/rank_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/base/error.h"
#include "distributed/communicator.h"

namespace seqmend {

RankHistogram::RankHistogram(int64_t max_rank) {
  SEQ_CHECK(max_rank >= 0, "RankHistogram: max_rank must be >= 0, got ", max_rank);
  counts_.assign(size_t(max_rank) + 1, 0);
}

void RankHistogram::add(int64_t rank) {
  SEQ_CHECK(rank >= 0 && rank <= max_rank(), "RankHistogram: rank ", rank, " outside [0, ",
            max_rank(), "]");
  ++counts_[size_t(rank)];
}

int64_t RankHistogram::num_users() const {
  int64_t n = 0;
  for (int64_t c : counts_) n += c;
  return n;
}

void RankHistogram::sum_over(Communicator& comm) {
  // A size mismatch would make the all-reduce read past one process's buffer: agree on it first.
  const int64_t mine = int64_t(counts_.size());
  const std::vector<std::byte> all = comm.allgather(&mine, sizeof(mine));
  for (int r = 0; r < comm.world(); ++r) {
    int64_t theirs = 0;
    std::memcpy(&theirs, all.data() + size_t(r) * sizeof(int64_t), sizeof(int64_t));
    SEQ_CHECK(theirs == mine, "RankHistogram::sum_over: rank ", comm.rank(), " has ", mine,
              " rank bins but rank ", r, " has ", theirs);
  }
  comm.allreduce_sum(counts_.data(), counts_.size());
}

nlohmann::json rank_metrics(const RankHistogram& h, const std::vector<int64_t>& ks) {
  const std::vector<int64_t>& c = h.counts();
  const int64_t users = h.num_users();
  const double inv_users = users > 0 ? 1.0 / double(users) : 0.0;
  nlohmann::json out = nlohmann::json::object();
  for (int64_t k : ks) {
    SEQ_CHECK(k >= 1, "rank_metrics: cut-off K must be >= 1, got ", k);
    int64_t hits = 0;
    double dcg = 0.0;
    for (int64_t r = 0; r < std::min<int64_t>(k, int64_t(c.size())); ++r) {
      hits += c[size_t(r)];
      dcg += double(c[size_t(r)]) / std::log2(double(r) + 2.0);
    }
    out["hr@" + std::to_string(k)] = double(hits) * inv_users;
    out["ndcg@" + std::to_string(k)] = dcg * inv_users;
  }
  double rr = 0.0;
  for (size_t r = 0; r < c.size(); ++r) rr += double(c[r]) / double(r + 1);
  out["mrr"] = rr * inv_users;
  out["num_users"] = users;
  return out;
}

}  // namespace seqmend
