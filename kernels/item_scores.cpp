#include "kernels/item_scores.h"

#include <algorithm>

#include "core/base/error.h"
#include "kernels/dispatch.h"

namespace seqmend {

namespace {

// Lane l sums channels l, l + 8, l + 16, ... in channel order; the lanes fold as a fixed tree. The
// lane loop vectorises to one SIMD register without reassociating anything, so vectorised or not
// the result is the same for a given build.
inline float dot_fixed(const float* a, const float* b, int C) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int c = 0;
  for (; c + 8 <= C; c += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[c + l] * b[c + l];
  float tail = 0.0f;
  for (; c < C; ++c) tail += a[c] * b[c];
  return (((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))) + tail;
}

// Items per block: the block's table rows stay in L1/L2 while every row of the chunk passes over them.
constexpr int64_t kItemBlockBytes = 64 * 1024;

}  // namespace

void item_scores(Device dev, float* out, const float* hidden, const float* table, const float* bias,
                 int64_t R, int C, int64_t V) {
  SEQ_CHECK(R >= 0 && C >= 1 && V >= 0, "item_scores: bad sizes R=", R, " C=", C, " V=", V);
  if (dev == Device::CUDA) cuda_twin_missing("item_scores");
  const int64_t block = std::max<int64_t>(1, kItemBlockBytes / (int64_t(C) * int64_t(sizeof(float))));
  for (int64_t j0 = 0; j0 < V; j0 += block) {
    const int64_t j1 = std::min(V, j0 + block);
    for (int64_t r = 0; r < R; ++r) {
      const float* h = hidden + r * C;
      float* o = out + r * V;
      for (int64_t j = j0; j < j1; ++j) o[j] = dot_fixed(h, table + j * C, C) + (bias ? bias[j] : 0.0f);
    }
  }
}

void item_scores_at(Device dev, float* out, const float* hidden, const float* table, const float* bias,
                    const int32_t* items, int64_t n, int C) {
  SEQ_CHECK(n >= 0 && C >= 1, "item_scores_at: bad sizes n=", n, " C=", C);
  if (dev == Device::CUDA) cuda_twin_missing("item_scores_at");
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = items[i];
    out[i] = dot_fixed(hidden, table + j * int64_t(C), C) + (bias ? bias[j] : 0.0f);
  }
}

}  // namespace seqmend
