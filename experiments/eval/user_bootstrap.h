// How sure a comparison of recommenders is, given that it rests on one target per user.
//
// evaluate trains a recommender on the raw, the repaired and the clean data, several seeds each,
// and scores every model on the same targets. The seeds' spread says how much training luck moves
// the numbers, but every seed is scored on the same ~1,000 targets, and which users happen to be
// among them moves the differences as much again (on ML-100K the valid and the test targets, one
// event apart, gave repaired − raw −0.0013 and +0.0042 NDCG@10). A paired bootstrap over users
// puts a number on that: each user's metric is averaged over the seeds per set, the users are drawn
// with replacement `resamples` times, and the differences of the means (and their ratio, the
// recovered share) are taken per draw; the interval is the central `level` of the draws
// (percentile bootstrap). An interval for clean − raw that includes 0 says the corruption's cost is
// within noise on these targets, and then so is any recovered share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/eval/rec_eval.h"

namespace seqmend {

// One set's per-user ranks: one list per training seed.
using SeedRanks = std::vector<std::vector<UserRank>>;

struct BootstrapConfig {
  std::string metric = "ndcg";  // ndcg | hr | mrr
  int64_t k = 10;               // cut-off of ndcg / hr
  int64_t resamples = 2000;
  double level = 0.95;
  uint64_t seed = 0;            // the draws: the same inputs and seed give the same interval
};

// The value of cfg's metric for one target ranked at `rank` (0 = first).
double user_metric(const BootstrapConfig& cfg, int64_t rank);

// Paired comparison over the users every seed of every set ranked (the others are counted in
// "users_left_out": quarantined users, for one). Returns
//   {"metric": "ndcg@10", "users": U, "users_left_out": n, "resamples": B, "level": 0.95,
//    "repaired_minus_raw": {"mean", "se", "low", "high"}, "clean_minus_raw": {...},
//    "recovered_share": {"value", "low", "high"}   (value = ratio of the means; null where undefined),
//    "cost_within_noise": bool, "recovery_within_noise": bool}
// `clean` may be empty: then only repaired − raw. Throws when a set has no seeds or no user is
// common to all.
nlohmann::json paired_user_bootstrap(const SeedRanks& raw, const SeedRanks& repaired, const SeedRanks& clean,
                                     const BootstrapConfig& cfg);

}  // namespace seqmend
