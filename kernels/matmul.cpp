#include "kernels/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <memory>

#include "core/base/error.h"
#include "kernels/blas_single_thread.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

// The GEMMs are split across our OpenMP team, each thread calling single-threaded sgemm on its
// slice, instead of letting OpenBLAS's pthread pool split them. Attention and the cross-entropy do
// the same, so one pool of threads does all the work: two pools on two cores would take turns
// spinning on each other's cores after every op. Every split is fixed by the shape alone, so the
// result does not depend on the team size.
namespace {

void check_shape(const char* op, int64_t N, int C, int OC) {
  SEQ_CHECK(N >= 0 && C > 0 && OC > 0, op, ": bad shape N=", N, " C=", C, " OC=", OC);
  // cblas takes int dimensions.
  SEQ_CHECK(N <= INT32_MAX, op, ": N=", N, " exceeds the BLAS int range");
}

// Calls f(n0, rows) for fixed blocks of kRowBlock rows, spread over the team. The blocks depend on
// N only: OpenBLAS's edge handling makes a row's result depend on where its block starts, so
// slicing by thread count would change the bits with the team size. 512 rows amortise packing the
// weight (an (OC, C) copy per sgemm call) and give 38 blocks at N = 19200, an even split.
constexpr int64_t kRowBlock = 512;

template <typename F>
void for_row_blocks(int64_t N, bool team, F&& f) {
  const int64_t nblocks = (N + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(static) if (team && nblocks > 1)
  for (int64_t b = 0; b < nblocks; ++b) f(b * kRowBlock, std::min(kRowBlock, N - b * kRowBlock));
}

// Rows per partial sum of dweight/dbias: 10 chunks at N = 19200 keep two threads balanced, and
// the slots (one (OC, C) block per chunk) stay small next to the inputs.
constexpr int64_t kRowChunk = 2048;

}  // namespace

void matmul_forward(Device dev, float* out, const float* inp, const float* weight,
                    const float* bias, int64_t N, int C, int OC) {
  if (dev == Device::CUDA) cuda_twin_missing("matmul_forward");
  check_shape("matmul_forward", N, C, OC);
  if (N == 0) return;
  BlasSingleThread single;
  for_row_blocks(N, N * std::max(C, OC) >= kParallelMinWork, [&](int64_t n0, int64_t rows) {
    float* o = out + n0 * OC;
    float beta = 0.0f;
    if (bias) {
      // Pre-filled bias + beta = 1 costs nothing extra: with beta = 0 sgemm clears out first.
      for (int64_t r = 0; r < rows; ++r) std::copy(bias, bias + OC, o + r * OC);
      beta = 1.0f;
    }
    // out (rows, OC) = inp (rows, C) · weight (OC, C)ᵀ
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), OC, C, 1.0f, inp + n0 * C, C,
                weight, C, beta, o, OC);
  });
}

void matmul_backward(Device dev, float* dinp, float* dweight, float* dbias, const float* dout,
                     const float* inp, const float* weight, int64_t N, int C, int OC) {
  if (dev == Device::CUDA) cuda_twin_missing("matmul_backward");
  check_shape("matmul_backward", N, C, OC);
  if (N == 0) return;
  BlasSingleThread single;
  const bool team = N * std::max(C, OC) >= kParallelMinWork;
  if (dinp) {
    for_row_blocks(N, team, [&](int64_t n0, int64_t rows) {
      // dinp (rows, C) += dout (rows, OC) · weight (OC, C)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), C, OC, 1.0f, dout + n0 * OC,
                  OC, weight, C, 1.0f, dinp + n0 * C, C);
    });
  }
  if (!dweight && !dbias) return;
  // dweight and dbias are sums over all N rows. The rows go in fixed chunks, each chunk's sums land
  // in its own slot, and the slots are added in chunk order: the same bits for any team size.
  const int64_t nchunks = (N + kRowChunk - 1) / kRowChunk;
  const int64_t stride = int64_t(OC) * C + OC;  // one slot: (OC, C) weight sums, then (OC) bias
  std::unique_ptr<float[]> slots(new float[size_t(nchunks * stride)]);
#pragma omp parallel for schedule(static) if (team && nchunks > 1)
  for (int64_t ch = 0; ch < nchunks; ++ch) {
    const int64_t n0 = ch * kRowChunk, rows = std::min(kRowChunk, N - n0);
    float* sw = slots.get() + ch * stride;
    float* sb = sw + int64_t(OC) * C;
    if (dweight) {
      // sw (OC, C) = dout[n0:n0+rows]ᵀ (OC, rows) · inp[n0:n0+rows] (rows, C)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, int(rows), 1.0f, dout + n0 * OC,
                  OC, inp + n0 * C, C, 0.0f, sw, C);
    }
    if (dbias) {
      std::fill(sb, sb + OC, 0.0f);
      for (int64_t n = n0; n < n0 + rows; ++n) {
        const float* row = dout + n * OC;
#pragma omp simd
        for (int o = 0; o < OC; ++o) sb[o] += row[o];
      }
    }
  }
  // Fold the slots in chunk order, the elements split across the team.
  auto fold = [&](float* dst, int64_t offset, int64_t count) {
    constexpr int64_t kSpan = 4096;
#pragma omp parallel for schedule(static) if (team && count > kSpan)
    for (int64_t i0 = 0; i0 < count; i0 += kSpan) {
      const int64_t i1 = std::min(count, i0 + kSpan);
      for (int64_t ch = 0; ch < nchunks; ++ch) {
        const float* src = slots.get() + ch * stride + offset;
#pragma omp simd
        for (int64_t i = i0; i < i1; ++i) dst[i] += src[i];
      }
    }
  };
  if (dweight) fold(dweight, 0, int64_t(OC) * C);
  if (dbias) fold(dbias, int64_t(OC) * C, OC);
}

}  // namespace seqmend
