// The embedding backward's summation order (kernels/embedding.h) written as plainly as possible:
// for each id, each chunk's rows carrying it summed in row order, the chunk sums added into the
// table row in chunk order. Both twins must give exactly these bits; rows whose id lies outside
// [0, V) are left out (what the CUDA twin does with an id its caller failed to check).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/embedding.h"

namespace seqmend::test_support {

inline void embedding_backward_reference(float* dtable, const float* dout, const int32_t* ids, int64_t N,
                                         int C, int64_t V) {
  const int64_t K = kEmbeddingGradChunkRows;
  std::vector<float> sum(static_cast<size_t>(C));
  std::vector<bool> seen(static_cast<size_t>(V));
  for (int64_t r0 = 0; r0 < N; r0 += K) {
    const int64_t r1 = std::min(N, r0 + K);
    std::fill(seen.begin(), seen.end(), false);
    for (int64_t r = r0; r < r1; ++r) {
      const int32_t id = ids[r];
      if (id < 0 || id >= V || seen[size_t(id)]) continue;
      seen[size_t(id)] = true;
      for (int c = 0; c < C; ++c) sum[size_t(c)] = dout[r * C + c];
      for (int64_t k = r + 1; k < r1; ++k)
        if (ids[k] == id)
          for (int c = 0; c < C; ++c) sum[size_t(c)] += dout[k * C + c];
      for (int c = 0; c < C; ++c) dtable[int64_t(id) * C + c] += sum[size_t(c)];
    }
  }
}

}  // namespace seqmend::test_support
