// CUDA twins of kernels/embedding.h.
// Forward gathers rows and records the first bad id (smallest row) in a device flag, read back once.
// Backward is deterministic without float atomics: the (id, row) pairs are radix-sorted by id
// (a stable sort, so each id's rows stay in row order), then one block owns each run of equal ids
// and adds its rows into that table row in order — every dtable element gets its additions in
// row order, as on the CPU.
#include <cub/device/device_radix_sort.cuh>

#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;

__global__ void gather_kernel(float* out, const int32_t* ids, const float* table, long long N, int C,
                              long long V, bool accumulate, unsigned long long* bad_row) {
  const long long total = N * C;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long n = i / C;
    const int c = int(i - n * C);
    const int32_t id = ids[n];
    if (id < 0 || id >= V) {
      if (c == 0) atomicMin(bad_row, (unsigned long long)n);
      continue;
    }
    const float v = table[(long long)id * C + c];
    if (accumulate)
      out[i] += v;
    else
      out[i] = v;
  }
}

__global__ void check_ids_kernel(const int32_t* ids, long long N, long long V,
                                 unsigned long long* bad_row) {
  for (long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x; n < N;
       n += (long long)gridDim.x * blockDim.x)
    if (ids[n] < 0 || ids[n] >= V) atomicMin(bad_row, (unsigned long long)n);
}

__global__ void iota_kernel(int32_t* x, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    x[i] = int32_t(i);
}

// Block i: if sorted position i starts a run of equal ids, add the run's dout rows (in row order)
// into that table row; other blocks exit at once.
__global__ void segment_add_kernel(float* dtable, const float* dout, const int32_t* sorted_ids,
                                   const int32_t* sorted_rows, long long N, int C) {
  const long long i = blockIdx.x;
  const int32_t id = sorted_ids[i];
  if (i > 0 && sorted_ids[i - 1] == id) return;
  long long end = i + 1;
  while (end < N && sorted_ids[end] == id) ++end;
  float* dst = dtable + (long long)id * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float acc = dst[c];
    for (long long j = i; j < end; ++j) acc += dout[(long long)sorted_rows[j] * C + c];
    dst[c] = acc;
  }
}

// Reads the bad-row flag (one small copy, which waits for the kernels) and throws naming the row.
void report_bad_id(const char* name, const int32_t* ids, const unsigned long long* flag, long long V) {
  unsigned long long row = 0;
  CUDA_CHECK(cudaMemcpy(&row, flag, sizeof(row), cudaMemcpyDeviceToHost));
  if (row == ~0ULL) return;
  int32_t id = 0;
  CUDA_CHECK(cudaMemcpy(&id, ids + row, sizeof(id), cudaMemcpyDeviceToHost));
  SEQ_FAIL(name, ": id ", id, " at row ", row, " is outside [0, ", V, ")");
}

}  // namespace

void embedding_forward_cuda(float* out, const int32_t* ids, const float* table, int64_t N, int C,
                            int64_t V, bool accumulate, const char* name) {
  if (!name) name = "embedding";
  cuda_require(name);
  SEQ_CHECK(N >= 0 && C > 0 && V > 0, name, ": bad shape N=", N, " C=", C, " V=", V);
  if (N == 0) return;
  CudaBuffer flag(sizeof(unsigned long long));
  CUDA_CHECK(cudaMemsetAsync(flag.as<void>(), 0xff, sizeof(unsigned long long), cuda_stream()));
  gather_kernel<<<grid_for(N * C, kThreads), kThreads, 0, cuda_stream()>>>(
      out, ids, table, N, C, V, accumulate, flag.as<unsigned long long>());
  CUDA_CHECK_LAUNCH(gather_kernel);
  report_bad_id(name, ids, flag.as<unsigned long long>(), V);
}

void embedding_backward_cuda(float* dtable, const float* dout, const int32_t* ids, int64_t N,
                             int C, int64_t V) {
  cuda_require("embedding_backward");
  SEQ_CHECK(N >= 0 && C > 0 && V > 0, "embedding_backward: bad shape N=", N, " C=", C, " V=", V);
  SEQ_CHECK(N <= INT32_MAX, "embedding_backward: N=", N, " rows exceed the sort's int range");
  if (N == 0) return;
  CudaBuffer flag(sizeof(unsigned long long));
  CUDA_CHECK(cudaMemsetAsync(flag.as<void>(), 0xff, sizeof(unsigned long long), cuda_stream()));
  check_ids_kernel<<<grid_for(N, kThreads), kThreads, 0, cuda_stream()>>>(
      ids, N, V, flag.as<unsigned long long>());
  CUDA_CHECK_LAUNCH(check_ids_kernel);
  report_bad_id("embedding_backward", ids, flag.as<unsigned long long>(), V);

  CudaBuffer rows(size_t(N) * sizeof(int32_t)), sorted_ids(size_t(N) * sizeof(int32_t)),
      sorted_rows(size_t(N) * sizeof(int32_t));
  iota_kernel<<<grid_for(N, kThreads), kThreads, 0, cuda_stream()>>>(rows.as<int32_t>(), N);
  CUDA_CHECK_LAUNCH(iota_kernel);
  // Only the bits that can differ among ids in [0, V) take part in the sort.
  int end_bit = 1;
  while (end_bit < 31 && (int64_t(1) << end_bit) < V) ++end_bit;
  size_t temp_bytes = 0;
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, ids, sorted_ids.as<int32_t>(),
                                             rows.as<int32_t>(), sorted_rows.as<int32_t>(), int(N), 0,
                                             end_bit, cuda_stream()));
  CudaBuffer temp(temp_bytes);
  CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.as<void>(), temp_bytes, ids, sorted_ids.as<int32_t>(),
                                             rows.as<int32_t>(), sorted_rows.as<int32_t>(), int(N), 0,
                                             end_bit, cuda_stream()));
  const int threads = C >= 128 ? 128 : 32 * ((C + 31) / 32);
  segment_add_kernel<<<unsigned(N), threads, 0, cuda_stream()>>>(
      dtable, dout, sorted_ids.as<int32_t>(), sorted_rows.as<int32_t>(), N, C);
  CUDA_CHECK_LAUNCH(segment_add_kernel);
}

}  // namespace seqmend
