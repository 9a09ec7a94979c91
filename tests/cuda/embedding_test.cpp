// The embedding backward on the GPU against its CPU twin, bit for bit, on the id layouts of real
// batches: one id covering ~80 % of 25,600 rows (action 0, gap bucket 0 — the mask token is ~20 %),
// and many short runs (items). Both twins sum in the order of kernels/embedding.h, so any
// difference is a bug, not rounding. Also: a bad id that escaped the host check is guarded on the
// device (NaN row forward, rows left out backward), without a fault.
// Without a GPU the CPU side still runs against the plain reference, then the test skips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/base/rng.h"
#include "kernels/device.h"
#include "kernels/embedding.h"
#include "support/embedding_reference.h"

#ifdef SEQMEND_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace seqmend {
namespace {

struct Case {
  std::string name;
  int64_t N, V;
  int C;
  double dominant;  // share of rows carrying id 1 (one long run), the rest uniform in [0, V)
};

std::vector<int32_t> make_ids(const Case& k, uint64_t seed) {
  Rng rng(seed, 1);
  std::vector<int32_t> ids(static_cast<size_t>(k.N));
  for (auto& id : ids)
    id = rng.uniform() < k.dominant ? 1 : int32_t(rng.below(uint64_t(k.V)));
  return ids;
}

std::vector<float> make_floats(size_t n, uint64_t seed) {
  Rng rng(seed, 2);
  std::vector<float> x(n);
  for (auto& v : x) v = float(rng.uniform()) * 2.0f - 1.0f;
  return x;
}

// Index of the first element whose bits differ, or -1.
int64_t first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return int64_t(i);
  return -1;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"action_table", 25600, 4, 256, 0.97},       // nearly everything in one run
      {"mask_heavy_items", 25600, 100002, 64, 0.8},  // ~20k rows of one id, the rest short runs
      {"items_only", 25600, 100002, 72, 0.0},       // runs of one or two rows
      {"gap_buckets", 20001, 32, 33, 0.5},          // odd N and C, chunks cut inside runs
      {"one_channel", 300, 5, 1, 0.6},
  };
  return c;
}

#ifdef SEQMEND_WITH_CUDA
template <typename T>
T* to_device(const std::vector<T>& h) {
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, std::max<size_t>(1, h.size()) * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  return static_cast<T*>(p);
}
template <typename T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  EXPECT_EQ(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return h;
}

// dtable after the CUDA backward from `start`.
std::vector<float> backward_on_gpu(const std::vector<float>& start, const std::vector<float>& dout,
                                   const std::vector<int32_t>& ids, int64_t N, int C, int64_t V) {
  float* dtable = to_device(start);
  float* d_dout = to_device(dout);
  int32_t* d_ids = to_device(ids);
  embedding_backward(Device::CUDA, dtable, d_dout, d_ids, N, C, V);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  auto out = to_host(dtable, start.size());
  cudaFree(dtable);
  cudaFree(d_dout);
  cudaFree(d_ids);
  return out;
}
#endif

TEST(CudaEmbedding, BackwardMatchesTheCpuTwinBitForBit) {
  bool gpu = cuda_device_count() > 0;
  for (const Case& k : cases()) {
    const auto ids = make_ids(k, 11);
    const auto dout = make_floats(size_t(k.N) * k.C, 12);
    const auto start = make_floats(size_t(k.V) * k.C, 13);  // backward accumulates
    auto cpu = start;
    embedding_backward(Device::CPU, cpu.data(), dout.data(), ids.data(), k.N, k.C, k.V);
    auto reference = start;
    test_support::embedding_backward_reference(reference.data(), dout.data(), ids.data(), k.N, k.C, k.V);
    ASSERT_EQ(first_difference(cpu, reference), -1) << k.name << ": the CPU twin left the pinned order";
    if (!gpu) continue;
#ifdef SEQMEND_WITH_CUDA
    const auto first = backward_on_gpu(start, dout, ids, k.N, k.C, k.V);
    const int64_t at = first_difference(first, cpu);
    EXPECT_EQ(at, -1) << k.name << ": element " << at << " (table row " << at / k.C << ") cuda "
                      << (at >= 0 ? first[size_t(at)] : 0.0f) << " cpu " << (at >= 0 ? cpu[size_t(at)] : 0.0f);
    const auto again = backward_on_gpu(start, dout, ids, k.N, k.C, k.V);
    EXPECT_EQ(first_difference(again, first), -1) << k.name << ": two CUDA runs differ";
#endif
  }
  if (!gpu) GTEST_SKIP() << "no usable GPU: only the CPU twin was checked against the reference";
}

TEST(CudaEmbedding, BadIdIsGuardedOnTheDevice) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no usable GPU: the device guard needs a device";
#ifdef SEQMEND_WITH_CUDA
  const int64_t N = 1000, V = 50;
  const int C = 16;
  std::vector<int32_t> ids = make_ids({"", N, V, C, 0.5}, 21);
  ids[7] = -1;
  ids[300] = int32_t(V);
  ids[301] = 1 << 30;
  const auto table = make_floats(size_t(V) * C, 22);
  // Forward: the bad rows are NaN, every other row is its table row.
  {
    float* d_table = to_device(table);
    int32_t* d_ids = to_device(ids);
    float* out = to_device(std::vector<float>(size_t(N) * C, 0.0f));
    embedding_forward(Device::CUDA, out, d_ids, d_table, N, C, V, false, "item_embedding");
    const auto h = to_host(out, size_t(N) * C);
    for (int64_t n = 0; n < N; ++n) {
      const bool bad = ids[size_t(n)] < 0 || ids[size_t(n)] >= V;
      for (int c = 0; c < C; ++c) {
        const float v = h[size_t(n * C + c)];
        if (bad)
          ASSERT_TRUE(std::isnan(v)) << "row " << n;
        else
          ASSERT_EQ(v, table[size_t(ids[size_t(n)]) * C + c]) << "row " << n;
      }
    }
    cudaFree(d_table);
    cudaFree(d_ids);
    cudaFree(out);
  }
  // Backward: the bad rows are left out, the rest in the pinned order.
  const auto dout = make_floats(size_t(N) * C, 23);
  const auto start = make_floats(size_t(V) * C, 24);
  auto want = start;
  test_support::embedding_backward_reference(want.data(), dout.data(), ids.data(), N, C, V);
  const auto got = backward_on_gpu(start, dout, ids, N, C, V);
  EXPECT_EQ(first_difference(got, want), -1);
#endif
}

}  // namespace
}  // namespace seqmend
