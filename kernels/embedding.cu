// CUDA twins of kernels/embedding.h. Neither reads anything back: the ids were checked on the host
// (Batch::validate), so a training step makes no blocking copy here.
// Forward: one thread per element; a bad id reads nothing and writes NaN (the guard costs no sync).
// Backward, without float atomics and in the CPU's order (embedding.h), so both give the same bits:
//   1. keys = ids with any bad id replaced by V (a sentinel that sorts last and is skipped), and
//      rows = 0..N−1;
//   2. radix sort of (key, row) pairs by key — stable, so each id's rows stay in row order;
//   3. segments = maximal runs of equal key inside one chunk of kEmbeddingGradChunkRows rows
//      (heads flagged, numbered by an exclusive scan, their starts scattered to a list);
//   4. one block per segment sums its rows (≤ K) in row order into a partial sum per channel;
//   5. one block per id adds its segments' partials, in chunk order, into the table row.
// The longest sequential walk is K rows (step 4) plus N/K partials (step 5), where one block used
// to walk a whole run (~20k rows for action 0 or the mask token).
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include <algorithm>

#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"
#include "kernels/embedding.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;
constexpr long long kChunk = kEmbeddingGradChunkRows;

__global__ void gather_kernel(float* out, const int32_t* ids, const float* table, long long N, int C,
                              long long V, bool accumulate) {
  const long long total = N * C;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long n = i / C;
    const int c = int(i - n * C);
    const int32_t id = ids[n];
    if (id < 0 || id >= V) {
      out[i] = __int_as_float(0x7fc00000);  // quiet NaN: the host check was skipped
      continue;
    }
    const float v = table[(long long)id * C + c];
    if (accumulate)
      out[i] += v;
    else
      out[i] = v;
  }
}

__global__ void keys_kernel(int32_t* keys, int32_t* rows, const int32_t* ids, long long N, long long V) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < N;
       i += (long long)gridDim.x * blockDim.x) {
    const int32_t id = ids[i];
    keys[i] = id >= 0 && id < V ? id : int32_t(V);
    rows[i] = int32_t(i);
  }
}

// head[i] = 1 where sorted position i starts a segment: a new key, or the same key in a later chunk.
__global__ void heads_kernel(int32_t* head, const int32_t* keys, const int32_t* rows, long long N) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < N;
       i += (long long)gridDim.x * blockDim.x)
    head[i] = i == 0 || keys[i] != keys[i - 1] || rows[i] / kChunk != rows[i - 1] / kChunk;
}

// starts[index[i]] = i for every head; the last thread also writes the segment count.
__global__ void starts_kernel(int32_t* starts, int32_t* count, const int32_t* head, const int32_t* index,
                              long long N) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < N;
       i += (long long)gridDim.x * blockDim.x) {
    if (head[i]) starts[index[i]] = int32_t(i);
    if (i == N - 1) *count = index[i] + head[i];
  }
}

// partial[s] (C) = the segment's dout rows summed in row order (the first row, then + each next).
__global__ void segment_sums_kernel(float* partial, const float* dout, const int32_t* keys,
                                    const int32_t* rows, const int32_t* starts, const int32_t* count,
                                    long long N, int C, long long V) {
  const int S = *count;
  for (long long s = blockIdx.x; s < S; s += gridDim.x) {
    const long long b = starts[s], e = s + 1 < S ? starts[s + 1] : N;
    if (keys[b] == V) continue;  // bad ids: left out
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
      float acc = dout[(long long)rows[b] * C + c];
      for (long long j = b + 1; j < e; ++j) acc += dout[(long long)rows[j] * C + c];
      partial[s * C + c] = acc;
    }
  }
}

// Each id's first segment: add the partials of its segments, in chunk order, into the table row.
__global__ void fold_kernel(float* dtable, const float* partial, const int32_t* keys,
                            const int32_t* starts, const int32_t* count, int C, long long V) {
  const int S = *count;
  for (long long s = blockIdx.x; s < S; s += gridDim.x) {
    const int32_t id = keys[starts[s]];
    if (id == V || (s > 0 && keys[starts[s - 1]] == id)) continue;
    long long e = s + 1;
    while (e < S && keys[starts[e]] == id) ++e;
    float* dst = dtable + (long long)id * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
      float acc = dst[c];
      for (long long k = s; k < e; ++k) acc += partial[k * C + c];
      dst[c] = acc;
    }
  }
}

}  // namespace

void embedding_forward_cuda(float* out, const int32_t* ids, const float* table, int64_t N, int C,
                            int64_t V, bool accumulate, const char* name) {
  if (!name) name = "embedding";
  cuda_require(name);
  if (N == 0) return;
  gather_kernel<<<grid_for(N * C, kThreads), kThreads, 0, cuda_stream()>>>(out, ids, table, N, C, V,
                                                                           accumulate);
  CUDA_CHECK_LAUNCH(gather_kernel);
}

void embedding_backward_cuda(float* dtable, const float* dout, const int32_t* ids, int64_t N,
                             int C, int64_t V) {
  cuda_require("embedding_backward");
  SEQ_CHECK(N < INT32_MAX && V < INT32_MAX, "embedding_backward: N=", N, " or V=", V,
            " exceeds the sort's int range");
  if (N == 0) return;
  const size_t n = size_t(N);
  CudaBuffer keys(n * sizeof(int32_t)), rows(n * sizeof(int32_t)), sorted_keys(n * sizeof(int32_t)),
      sorted_rows(n * sizeof(int32_t)), head(n * sizeof(int32_t)), index(n * sizeof(int32_t)),
      starts(n * sizeof(int32_t)), count(sizeof(int32_t));
  keys_kernel<<<grid_for(N, kThreads), kThreads, 0, cuda_stream()>>>(keys.as<int32_t>(), rows.as<int32_t>(),
                                                                     ids, N, V);
  CUDA_CHECK_LAUNCH(keys_kernel);
  // Keys lie in [0, V] (V = the bad-id sentinel): only the bits that can differ take part.
  int end_bit = 1;
  while (end_bit < 31 && (int64_t(1) << end_bit) <= V) ++end_bit;
  size_t sort_bytes = 0, scan_bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, keys.as<int32_t>(), sorted_keys.as<int32_t>(),
                                             rows.as<int32_t>(), sorted_rows.as<int32_t>(), int(N), 0,
                                             end_bit, cuda_stream()));
  CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, head.as<int32_t>(), index.as<int32_t>(),
                                           int(N), cuda_stream()));
  size_t temp_bytes = std::max(sort_bytes, scan_bytes);
  CudaBuffer temp(temp_bytes);
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.as<void>(), temp_bytes, keys.as<int32_t>(),
                                             sorted_keys.as<int32_t>(), rows.as<int32_t>(),
                                             sorted_rows.as<int32_t>(), int(N), 0, end_bit, cuda_stream()));
  heads_kernel<<<grid_for(N, kThreads), kThreads, 0, cuda_stream()>>>(
      head.as<int32_t>(), sorted_keys.as<int32_t>(), sorted_rows.as<int32_t>(), N);
  CUDA_CHECK_LAUNCH(heads_kernel);
  temp_bytes = std::max(sort_bytes, scan_bytes);
  CUDA_CHECK(cub::DeviceScan::ExclusiveSum(temp.as<void>(), temp_bytes, head.as<int32_t>(), index.as<int32_t>(),
                                           int(N), cuda_stream()));
  starts_kernel<<<grid_for(N, kThreads), kThreads, 0, cuda_stream()>>>(
      starts.as<int32_t>(), count.as<int32_t>(), head.as<int32_t>(), index.as<int32_t>(), N);
  CUDA_CHECK_LAUNCH(starts_kernel);

  // The segment count stays on the device: the grids are sized for the most there can be (one per
  // row) and stride over the real count.
  CudaBuffer partial(n * size_t(C) * sizeof(float));
  const int threads = C >= 128 ? 128 : 32 * ((C + 31) / 32);
  const unsigned blocks = unsigned(std::min<int64_t>(N, 65535LL * 4));
  segment_sums_kernel<<<blocks, threads, 0, cuda_stream()>>>(
      partial.as<float>(), dout, sorted_keys.as<int32_t>(), sorted_rows.as<int32_t>(), starts.as<int32_t>(),
      count.as<int32_t>(), N, C, V);
  CUDA_CHECK_LAUNCH(segment_sums_kernel);
  fold_kernel<<<blocks, threads, 0, cuda_stream()>>>(dtable, partial.as<float>(), sorted_keys.as<int32_t>(),
                                                     starts.as<int32_t>(), count.as<int32_t>(), C, V);
  CUDA_CHECK_LAUNCH(fold_kernel);
}

}  // namespace seqmend
