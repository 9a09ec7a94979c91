// Negatives for the sampled next-item protocol: for each user, n distinct items that the user has
// not interacted with, drawn uniformly or by popularity. A user's draws are a pure function of
// (seed, user id) and the user's excluded items, so they are the same whichever process, batch or
// order the user is evaluated in.
#pragma once

#include <cstdint>
#include <vector>

#include "io/sampling.h"

namespace seqmend {

class NegativeSampler {
 public:
  // Items 1..V. counts == null: uniform. Else counts (V) are item i + 1's weights (train-split event
  // counts): draws are ∝ count, items with count 0 are never drawn.
  NegativeSampler(int64_t V, const std::vector<int64_t>* counts = nullptr);

  // Up to n distinct items outside `excluded` (sorted ascending, distinct, all in 1..V), from
  // Rng(seed, user). Fewer than n only when fewer items are eligible; then all of them, ascending.
  // Order of the result is draw order (irrelevant to ranking).
  std::vector<int32_t> draw(uint64_t seed, int64_t user, int64_t n,
                            const std::vector<int32_t>& excluded) const;

  bool by_popularity() const { return !weights_.empty(); }

 private:
  bool eligible(int64_t item) const { return weights_.empty() || weights_[size_t(item) - 1] > 0; }

  int64_t V_ = 0;
  std::vector<double> weights_;  // (V) or empty
  int64_t positive_ = 0;         // eligible items before exclusion
  DiscreteSampler sampler_;
};

}  // namespace seqmend
