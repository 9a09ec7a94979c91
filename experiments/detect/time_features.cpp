#include "experiments/detect/time_features.h"

#include <algorithm>
#include <cmath>

namespace seqmend {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const size_t h = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(h), v.end());
  if (v.size() % 2 == 1) return v[h];
  const double hi = v[h];
  return 0.5 * (*std::max_element(v.begin(), v.begin() + std::ptrdiff_t(h)) + hi);
}

}  // namespace

TimeFeatures time_features(const SequenceSet& set) {
  TimeFeatures f;
  if (!set.has_timestamps()) return f;
  const size_t E = size_t(set.num_events());
  f.log_gap_before.assign(E, 0.0f);
  f.log_gap_after.assign(E, 0.0f);
  f.alone.assign(E, 0.0f);
  f.gap_vs_user.assign(E, 0.0f);
  std::vector<double> logs, nonzero;
  for (int64_t q = 0; q < set.num_sequences(); ++q) {
    const int64_t b = set.offsets[size_t(q)], e = set.offsets[size_t(q) + 1];
    auto gap = [&](int64_t i) { return double(std::max<int64_t>(0, set.timestamp[size_t(i)] - set.timestamp[size_t(i) - 1])); };
    logs.clear();
    nonzero.clear();
    for (int64_t i = b + 1; i < e; ++i) {
      logs.push_back(std::log1p(gap(i)));
      if (gap(i) > 0) nonzero.push_back(gap(i));
    }
    const double first = median(logs);
    const double usual = std::log1p(nonzero.empty() ? 0.0 : median(nonzero));
    for (int64_t i = b; i < e; ++i) {
      const double before = i > b ? std::log1p(gap(i)) : first;
      f.log_gap_before[size_t(i)] = float(before);
      f.log_gap_after[size_t(i)] = i + 1 < e ? float(std::log1p(gap(i + 1))) : 0.0f;
      const bool same_prev = i > b && set.timestamp[size_t(i)] == set.timestamp[size_t(i) - 1];
      const bool same_next = i + 1 < e && set.timestamp[size_t(i)] == set.timestamp[size_t(i) + 1];
      f.alone[size_t(i)] = same_prev || same_next ? 0.0f : 1.0f;
      f.gap_vs_user[size_t(i)] = float(before - usual);
    }
  }
  return f;
}

}  // namespace seqmend
