#include "distributed/communicator.h"

#include <cstring>

#include "core/base/error.h"

namespace seqmend {
void Communicator::allreduce_sum_ordered(double* data, size_t count) {
  if (count == 0) return;
  const size_t bytes = count * sizeof(double);
  std::vector<std::byte> all = allgather(data, bytes);  // (world, count)
  std::vector<double> row(count);
  for (size_t i = 0; i < count; ++i) data[i] = 0.0;
  for (int r = 0; r < world(); ++r) {
    std::memcpy(row.data(), all.data() + size_t(r) * bytes, bytes);
    for (size_t i = 0; i < count; ++i) data[i] += row[i];
  }
}

void Communicator::allreduce_sum_ordered(float* data, size_t count) {
  std::vector<double> wide(data, data + count);
  allreduce_sum_ordered(wide.data(), count);
  for (size_t i = 0; i < count; ++i) data[i] = float(wide[i]);
}

}  // namespace seqmend
