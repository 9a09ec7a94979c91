#include "kernels/item_scores.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/base/error.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::random_floats;

TEST(ItemScores, MatchesDoubleReference) {
  for (int C : {1, 7, 8, 9, 64, 100}) {
    const int64_t R = 5, V = 300;
    auto h = random_floats(size_t(R * C), 1 + uint64_t(C));
    auto t = random_floats(size_t(V * C), 2 + uint64_t(C));
    auto b = random_floats(size_t(V), 3 + uint64_t(C));
    std::vector<float> out(size_t(R * V), -1.0f);
    item_scores(Device::CPU, out.data(), h.data(), t.data(), b.data(), R, C, V);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < V; ++j) {
        double ref = b[size_t(j)];
        for (int c = 0; c < C; ++c) ref += double(h[size_t(r * C + c)]) * t[size_t(j * C + c)];
        ASSERT_NEAR(out[size_t(r * V + j)], ref, 1e-5 * (1 + C)) << "C=" << C << " r=" << r << " j=" << j;
      }
  }
}

TEST(ItemScores, NullBiasIsZeroBias) {
  const int64_t R = 3, V = 50;
  const int C = 16;
  auto h = random_floats(size_t(R * C), 4);
  auto t = random_floats(size_t(V * C), 5);
  std::vector<float> zeros(size_t(V), 0.0f), a(size_t(R * V)), b(size_t(R * V));
  item_scores(Device::CPU, a.data(), h.data(), t.data(), nullptr, R, C, V);
  item_scores(Device::CPU, b.data(), h.data(), t.data(), zeros.data(), R, C, V);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

// The property evaluation relies on: a row's scores are the same bits whichever rows share its call,
// and the listed-items form agrees with the full one.
TEST(ItemScores, SameBitsForAnyRowChunkingAndForListedItems) {
  const int64_t R = 37, V = 2049;  // V spans several item blocks
  const int C = 64;
  auto h = random_floats(size_t(R * C), 6, -3.0f, 3.0f);
  auto t = random_floats(size_t(V * C), 7);
  auto b = random_floats(size_t(V), 8);
  std::vector<float> all(size_t(R * V));
  item_scores(Device::CPU, all.data(), h.data(), t.data(), b.data(), R, C, V);
  for (int64_t chunk : {1, 2, 5, 16}) {
    std::vector<float> part(size_t(R * V));
    for (int64_t r0 = 0; r0 < R; r0 += chunk) {
      const int64_t n = std::min(chunk, R - r0);
      item_scores(Device::CPU, part.data() + r0 * V, h.data() + r0 * C, t.data(), b.data(), n, C, V);
    }
    EXPECT_EQ(0, std::memcmp(all.data(), part.data(), all.size() * sizeof(float))) << "chunk " << chunk;
  }
  const std::vector<int32_t> items = {0, 1, 7, 2048, 1000, 7};
  for (int64_t r : {int64_t(0), int64_t(36)}) {
    std::vector<float> listed(items.size());
    item_scores_at(Device::CPU, listed.data(), h.data() + r * C, t.data(), b.data(), items.data(),
                   int64_t(items.size()), C);
    for (size_t i = 0; i < items.size(); ++i)
      EXPECT_EQ(listed[i], all[size_t(r * V + items[i])]) << "row " << r << " item " << items[i];
  }
}

TEST(ItemScores, RejectsBadSizesAndCuda) {
  float x = 0;
  EXPECT_THROW(item_scores(Device::CPU, &x, &x, &x, nullptr, 1, 0, 1), Error);
  EXPECT_THROW(item_scores(Device::CPU, &x, &x, &x, nullptr, -1, 1, 1), Error);
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(item_scores(Device::CUDA, &x, &x, &x, nullptr, 1, 1, 1), Error);
  }
  int32_t i = 0;
  EXPECT_THROW(item_scores_at(Device::CPU, &x, &x, &x, nullptr, &i, 1, 0), Error);
}

}  // namespace
}  // namespace seqmend
