#include "kernels/embedding.h"

#include <omp.h>

#include <algorithm>

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
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(embedding_forward, out, ids, table, N, C, V, accumulate, name);
  SEQ_CHECK(N >= 0 && C > 0 && V > 0, name, ": bad shape N=", N, " C=", C, " V=", V);
  check_ids(name, ids, N, V);
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
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(embedding_backward, dtable, dout, ids, N, C, V);
  SEQ_CHECK(N >= 0 && C > 0 && V > 0, "embedding_backward: bad shape N=", N, " C=", C, " V=", V);
  check_ids("embedding_backward", ids, N, V);
  // Scatter-add without atomics: threads split the channels, and each walks every row in order.
  // Every dtable element therefore receives its additions in row order, whatever the thread
  // count, and no two threads ever touch the same element. Blocks are whole 64-byte lines.
  constexpr int kBlock = 16;
  const int nblocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel if (N * C >= kParallelMinWork)
  {
    // A contiguous span of blocks per thread, so each thread reads one run of every dout row.
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int b0 = int(int64_t(nblocks) * t / nt), b1 = int(int64_t(nblocks) * (t + 1) / nt);
    const int c0 = b0 * kBlock, c1 = std::min(C, b1 * kBlock);
    if (c0 < c1) {
      for (int64_t n = 0; n < N; ++n) {
        const float* src = dout + n * C;
        float* dst = dtable + int64_t(ids[n]) * C;
#pragma omp simd
        for (int c = c0; c < c1; ++c) dst[c] += src[c];
      }
    }
  }
}

}  // namespace seqmend
