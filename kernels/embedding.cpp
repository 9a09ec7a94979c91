#include "kernels/embedding.h"

#include <omp.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "core/base/error.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

namespace {

// Finds the first id outside [0, V) serially, so the reported row is the same on every run.
void check_ids(const char* name, const int32_t* ids, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n) {
    if (ids[n] < 0 || ids[n] >= V) [[unlikely]]
      SEQ_FAIL(name, ": id ", ids[n], " at row ", n, " is outside [0, ", V, ")");
  }
}

}  // namespace

void embedding_forward(Device dev, float* out, const int32_t* ids, const float* table, int64_t N,
                       int C, int64_t V, bool accumulate, const char* name) {
  if (!name) name = "embedding";
  SEQ_CHECK(N >= 0 && C > 0 && V > 0, name, ": bad shape N=", N, " C=", C, " V=", V);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(embedding_forward, out, ids, table, N, C, V, accumulate, name);
  check_ids(name, ids, N, V);  // host memory only: on the device a bad id gives NaN rows (embedding.h)
  if (accumulate) {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMinWork)
    for (int64_t n = 0; n < N; ++n) {
      const float* src = table + int64_t(ids[n]) * C;
      float* dst = out + n * C;
#pragma omp simd
      for (int c = 0; c < C; ++c) dst[c] += src[c];
    }
  } else {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMinWork)
    for (int64_t n = 0; n < N; ++n) {
      const float* src = table + int64_t(ids[n]) * C;
      std::copy(src, src + C, out + n * C);
    }
  }
}

void embedding_backward(Device dev, float* dtable, const float* dout, const int32_t* ids, int64_t N,
                        int C, int64_t V) {
  SEQ_CHECK(N >= 0 && C > 0 && V > 0, "embedding_backward: bad shape N=", N, " C=", C, " V=", V);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(embedding_backward, dtable, dout, ids, N, C, V);
  check_ids("embedding_backward", ids, N, V);  // host memory only: the device leaves bad ids out
  if (N == 0) return;
  // The summation order of embedding.h, which the CUDA twin reproduces bit for bit: within each
  // chunk of K rows, the rows sorted by (id, row), so each id's rows form one run in row order.
  // Packed as id << 32 | row, a plain integer sort gives that order.
  SEQ_CHECK(N <= INT32_MAX, "embedding_backward: N=", N, " rows exceed the int range");
  const int64_t K = kEmbeddingGradChunkRows;
  const int64_t nchunks = (N + K - 1) / K;
  std::vector<uint64_t> order(static_cast<size_t>(N));
#pragma omp parallel for schedule(static) if (N * C >= kParallelMinWork)
  for (int64_t j = 0; j < nchunks; ++j) {
    const int64_t r0 = j * K, r1 = std::min(N, r0 + K);
    for (int64_t r = r0; r < r1; ++r) order[size_t(r)] = uint64_t(uint32_t(ids[r])) << 32 | uint64_t(r);
    std::sort(order.begin() + r0, order.begin() + r1);
  }
  // Scatter-add without atomics: threads split the channels and each walks every run, so no two
  // threads touch the same element and the order above holds for any thread count. Blocks of
  // channels are whole 64-byte lines.
  constexpr int kBlock = 16;
  const int nblocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel if (N * C >= kParallelMinWork)
  {
    // A contiguous span of blocks per thread, so each thread reads one run of every dout row.
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int b0 = int(int64_t(nblocks) * t / nt), b1 = int(int64_t(nblocks) * (t + 1) / nt);
    const int c0 = b0 * kBlock, c1 = std::min(C, b1 * kBlock);
    if (c0 < c1) {
      std::vector<float> sum(size_t(c1 - c0));
      float* acc = sum.data();
      for (int64_t i = 0; i < N;) {
        // The run of one id inside the chunk holding position i: [i, e).
        const uint32_t id = uint32_t(order[size_t(i)] >> 32);
        const int64_t chunk_end = std::min(N, (i / K + 1) * K);
        int64_t e = i + 1;
        while (e < chunk_end && uint32_t(order[size_t(e)] >> 32) == id) ++e;
        float* dst = dtable + int64_t(id) * C;
        const float* src = dout + int64_t(uint32_t(order[size_t(i)])) * C;
        if (e == i + 1) {  // a run of one row: its sum is the row itself
#pragma omp simd
          for (int c = c0; c < c1; ++c) dst[c] += src[c];
        } else {
#pragma omp simd
          for (int c = c0; c < c1; ++c) acc[c - c0] = src[c];
          for (int64_t k = i + 1; k < e; ++k) {
            const float* row = dout + int64_t(uint32_t(order[size_t(k)])) * C;
#pragma omp simd
            for (int c = c0; c < c1; ++c) acc[c - c0] += row[c];
          }
#pragma omp simd
          for (int c = c0; c < c1; ++c) dst[c] += acc[c - c0];
        }
        i = e;
      }
    }
  }
}

}  // namespace seqmend
