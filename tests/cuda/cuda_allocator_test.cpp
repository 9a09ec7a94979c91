#include <gtest/gtest.h>

#include <vector>

#include "kernels/cuda_allocator.h"
#include "kernels/device.h"

namespace seqmend {

// After one "step" has grown the cache, repeating the same allocation pattern must not reach
// cudaMalloc again (the training step's contract).
TEST(CudaAllocator, SecondStepServedFromCache) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no usable GPU: the allocator needs a device";
  const std::vector<size_t> sizes = {1, 100, 4096, 5000, 1 << 20, (1 << 20) + 3, 37 << 20, 0};
  auto step = [&] {
    std::vector<void*> ptrs;
    for (size_t s : sizes) ptrs.push_back(cuda_alloc(s));
    for (size_t i = 0; i < ptrs.size(); ++i)
      for (size_t j = i + 1; j < ptrs.size(); ++j) EXPECT_NE(ptrs[i], ptrs[j]);
    for (auto it = ptrs.rbegin(); it != ptrs.rend(); ++it) cuda_free(*it);
  };
  step();
  const CudaAllocatorStats first = cuda_allocator_stats();
  for (int i = 0; i < 5; ++i) step();
  const CudaAllocatorStats later = cuda_allocator_stats();
  EXPECT_EQ(later.cuda_mallocs, first.cuda_mallocs);
  EXPECT_EQ(later.allocations, first.allocations + 5 * int64_t(sizes.size()));
  EXPECT_EQ(later.bytes_in_use, first.bytes_in_use);
  cuda_allocator_release_cached();
  EXPECT_EQ(cuda_allocator_stats().bytes_reserved, cuda_allocator_stats().bytes_in_use);
}

TEST(CudaAllocator, ForeignPointerIsAnError) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no usable GPU: the allocator needs a device";
  int x = 0;
  EXPECT_ANY_THROW(cuda_free(&x));
}

}  // namespace seqmend
