#include "experiments/detect/item_cooccurrence.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/base/error.h"

namespace seqmend {

namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  if (a > b) std::swap(a, b);
  return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}

// The sequence's last `max_items` distinct items, sorted.
std::vector<int32_t> distinct_recent(const SequenceSet& set, int64_t s, int64_t max_items) {
  std::vector<int32_t> d;
  for (int64_t e = set.offsets[size_t(s) + 1] - 1; e >= set.offsets[size_t(s)] && int64_t(d.size()) < max_items; --e) {
    const int32_t it = set.item[size_t(e)];
    if (std::find(d.begin(), d.end(), it) == d.end()) d.push_back(it);
  }
  std::sort(d.begin(), d.end());
  return d;
}

}  // namespace

CooccurrenceFeatures cooccurrence_features(const SequenceSet& set, int64_t num_items, const CooccurrenceOptions& o) {
  SEQ_CHECK(o.top_k >= 1 && o.max_items >= 2, "cooccurrence: need top_k >= 1 and max_items >= 2, got ", o.top_k,
            " and ", o.max_items);
  const int64_t n_seq = set.num_sequences();
  std::vector<std::vector<int32_t>> distinct(static_cast<size_t>(n_seq));
  std::vector<int64_t> users(size_t(num_items) + 1, 0);
  std::vector<uint64_t> keys;
  for (int64_t s = 0; s < n_seq; ++s) {
    auto& d = distinct[size_t(s)] = distinct_recent(set, s, o.max_items);
    for (size_t a = 0; a < d.size(); ++a) {
      SEQ_CHECK(d[a] >= 1 && d[a] <= num_items, "cooccurrence: item ", d[a], " outside [1, ", num_items, "]");
      ++users[size_t(d[a])];
      for (size_t b = a + 1; b < d.size(); ++b) keys.push_back(pair_key(d[a], d[b]));
    }
  }
  std::sort(keys.begin(), keys.end());
  std::vector<uint64_t> pair;
  std::vector<int32_t> count;
  for (size_t i = 0; i < keys.size();) {
    size_t j = i;
    while (j < keys.size() && keys[j] == keys[i]) ++j;
    pair.push_back(keys[i]);
    count.push_back(int32_t(j - i));
    i = j;
  }
  keys = {};
  auto co = [&](int32_t a, int32_t b) -> int64_t {
    auto it = std::lower_bound(pair.begin(), pair.end(), pair_key(a, b));
    return it != pair.end() && *it == pair_key(a, b) ? count[size_t(it - pair.begin())] : 0;
  };

  CooccurrenceFeatures f;
  const size_t E = size_t(set.num_events());
  f.cosine_mean.assign(E, 0.0f);
  f.cosine_top.assign(E, 0.0f);
  f.log_count.assign(E, 0.0f);
  f.jaccard_near.assign(E, 0.0f);
  std::vector<double> sims;
  for (int64_t s = 0; s < n_seq; ++s) {
    const auto& d = distinct[size_t(s)];
    auto own = [&](int32_t x) { return std::binary_search(d.begin(), d.end(), x) ? 1 : 0; };
    for (int64_t e = set.offsets[size_t(s)]; e < set.offsets[size_t(s) + 1]; ++e) {
      const int32_t x = set.item[size_t(e)];
      const int self_x = own(x);  // 0 for an item older than the sequence's counted window
      const double nx = double(users[size_t(x)] - self_x);
      sims.clear();
      for (int32_t y : d) {
        if (y == x) continue;
        const double ny = double(users[size_t(y)] - 1);
        const double c = double(co(x, y) - self_x);
        sims.push_back(c > 0 && nx > 0 && ny > 0 ? c / std::sqrt(nx * ny) : 0.0);
      }
      f.log_count[size_t(e)] = float(std::log1p(std::max(0.0, nx)));
      const int64_t b = set.offsets[size_t(s)], end = set.offsets[size_t(s) + 1];
      double jsum = 0;
      int64_t jn = 0;
      for (int64_t j = std::max(b, e - o.window); j < std::min(end, e + o.window + 1); ++j) {
        const int32_t y = set.item[size_t(j)];
        if (y == x) continue;
        const int self = self_x && own(y) ? 1 : 0;  // this sequence counted the pair only if it counted both
        const double ny = double(users[size_t(y)] - own(y));
        const double c = double(co(x, y) - self);
        const double denom = nx + ny - c;
        jsum += c > 0 && denom > 0 ? c / denom : 0.0;
        ++jn;
      }
      if (jn > 0) f.jaccard_near[size_t(e)] = float(jsum / double(jn));
      if (sims.empty()) continue;
      double sum = 0;
      for (double v : sims) sum += v;
      f.cosine_mean[size_t(e)] = float(sum / double(sims.size()));
      const size_t k = std::min(sims.size(), size_t(o.top_k));
      std::partial_sort(sims.begin(), sims.begin() + std::ptrdiff_t(k), sims.end(), std::greater<double>());
      double top = 0;
      for (size_t i = 0; i < k; ++i) top += sims[i];
      f.cosine_top[size_t(e)] = float(top / double(k));
    }
  }
  return f;
}

}  // namespace seqmend
