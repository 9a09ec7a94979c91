#include "experiments/run/owned_values.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "experiments/run/dp_group.h"

namespace seqmend {

void merge_owned(DataParallelGroup& group, std::vector<float>& values) {
  if (group.size() == 1) return;
  // Chunks bound the extra memory (8 bytes per value in flight) on large splits.
  constexpr size_t kChunk = size_t(1) << 20;
  std::vector<int64_t> bits;
  // Every rank has the same length, so every rank makes the same number of sums.
  for (size_t lo = 0; lo < values.size(); lo += kChunk) {
    const size_t hi = std::min(values.size(), lo + kChunk);
    bits.resize(hi - lo);
    for (size_t i = lo; i < hi; ++i) {
      uint32_t b;
      std::memcpy(&b, &values[i], sizeof b);
      bits[i - lo] = int64_t(b);
    }
    group.sum(bits.data(), bits.size());
    for (size_t i = lo; i < hi; ++i) {
      const uint32_t b = uint32_t(bits[i - lo]);
      std::memcpy(&values[i], &b, sizeof b);
    }
  }
}

bool owns_batch(const DataParallelGroup* group, int64_t index) {
  return !group || index % group->size() == group->rank();
}

}  // namespace seqmend
