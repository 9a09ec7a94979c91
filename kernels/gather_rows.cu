// CUDA twins of kernels/gather_rows.h: one thread per element, rows read from device memory.
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 256;

template <bool kScatter>
__global__ void move_rows_kernel(float* dst, const float* src, const int64_t* rows, long long R,
                                 int C) {
  const long long n = R * C;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const long long r = i / C, c = i % C;
    const long long t = rows[r];
    if (kScatter)
      dst[t * C + c] = src[i];
    else
      dst[i] = src[t * C + c];
  }
}

template <bool kScatter>
void move_rows(const char* op, float* dst, const float* src, const int64_t* rows, int64_t R, int C) {
  cuda_require(op);
  if (R == 0) return;
  const long long n = (long long)R * C;
  move_rows_kernel<kScatter><<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(dst, src, rows,
                                                                                     R, C);
  CUDA_CHECK_LAUNCH(move_rows_kernel);
}

}  // namespace

// Sizes were checked before the dispatch (gather_rows.cpp); the rows are trusted (gather_rows.h).
void gather_rows_cuda(float* dst, const float* src, const int64_t* rows, int64_t R, int C,
                      int64_t /*N*/) {
  move_rows<false>("gather_rows", dst, src, rows, R, C);
}

void scatter_rows_cuda(float* dst, const float* src, const int64_t* rows, int64_t R, int C,
                       int64_t /*N*/) {
  move_rows<true>("scatter_rows", dst, src, rows, R, C);
}

}  // namespace seqmend
