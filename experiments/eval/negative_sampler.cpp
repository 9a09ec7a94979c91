#include "experiments/eval/negative_sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/base/error.h"
#include "core/base/rng.h"

namespace seqmend {

NegativeSampler::NegativeSampler(int64_t V, const std::vector<int64_t>* counts) : V_(V) {
  SEQ_CHECK(V >= 1, "NegativeSampler: num_items must be >= 1, got ", V);
  positive_ = V;
  if (!counts) return;
  SEQ_CHECK(int64_t(counts->size()) == V, "NegativeSampler: ", counts->size(),
            " item counts for ", V, " items");
  weights_.resize(size_t(V));
  positive_ = 0;
  for (int64_t i = 0; i < V; ++i) {
    const int64_t c = (*counts)[size_t(i)];
    SEQ_CHECK(c >= 0, "NegativeSampler: item ", i + 1, " has count ", c);
    weights_[size_t(i)] = double(c);
    positive_ += c > 0;
  }
  SEQ_CHECK(positive_ > 0, "NegativeSampler: popularity sampling, but every one of the ", V,
            " items has count 0 in the train split");
  sampler_.reset(weights_.data(), V);
}

std::vector<int32_t> NegativeSampler::draw(uint64_t seed, int64_t user, int64_t n,
                                           const std::vector<int32_t>& excluded) const {
  SEQ_CHECK(n >= 0, "NegativeSampler: negative count ", n);
  int64_t eligible_left = positive_;
  for (int32_t e : excluded) {
    SEQ_CHECK(e >= 1 && e <= V_, "NegativeSampler: excluded item ", e, " outside 1..", V_);
    eligible_left -= eligible(e);
  }
  auto is_excluded = [&](int64_t item) {
    return std::binary_search(excluded.begin(), excluded.end(), int32_t(item));
  };
  std::vector<int32_t> out;
  if (eligible_left <= n) {  // the user has seen (nearly) everything: take what is left
    for (int64_t i = 1; i <= V_; ++i)
      if (eligible(i) && !is_excluded(i)) out.push_back(int32_t(i));
    return out;
  }
  Rng rng(seed, uint64_t(user));
  out.reserve(size_t(n));
  std::unordered_set<int32_t> chosen;
  // Rejection: cheap while the excluded items hold little of the mass. A heavy user of popular items
  // can make it slow, so after a bounded number of tries the exact method below takes over.
  for (int64_t tries = 32 * n + 1024; int64_t(out.size()) < n && tries > 0; --tries) {
    const int64_t item = weights_.empty() ? 1 + int64_t(rng.below(uint64_t(V_))) : 1 + sampler_.draw(rng);
    if (is_excluded(item) || !chosen.insert(int32_t(item)).second) continue;
    out.push_back(int32_t(item));
  }
  if (int64_t(out.size()) == n) return out;
  // Weighted sampling without replacement (Efraimidis–Spirakis): each eligible item gets the key
  // E_i / w_i with E_i ~ Exp(1) from a hash of (stream, item); the n smallest keys win. O(V).
  std::vector<std::pair<double, int32_t>> keys;
  for (int64_t i = 1; i <= V_; ++i) {
    if (!eligible(i) || is_excluded(i)) continue;
    const uint64_t h = hash_combine(rng.key, uint64_t(i));
    const double u = (double(h >> 11) + 0.5) * (1.0 / 9007199254740992.0);  // (0, 1)
    const double w = weights_.empty() ? 1.0 : weights_[size_t(i) - 1];
    keys.emplace_back(-std::log(u) / w, int32_t(i));
  }
  std::partial_sort(keys.begin(), keys.begin() + n, keys.end());
  out.clear();
  for (int64_t k = 0; k < n; ++k) out.push_back(keys[size_t(k)].second);
  return out;
}

}  // namespace seqmend
