#include "kernels/matmul.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/base/error.h"
#include "kernels/bf16.h"
#include "kernels/blas_single_thread.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
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
  // cblas and cuBLAS take int dimensions.
  SEQ_CHECK(N <= INT32_MAX, op, ": N=", N, " exceeds the BLAS int range");
}

// Calls f(n0, rows) for fixed blocks of kRowBlock rows, spread over the team. The blocks depend on
// N only: OpenBLAS's edge handling makes a row's result depend on where its block starts, so
// slicing by thread count would change the bits with the team size. 512 rows amortise packing the
// weight (an (OC, C) copy per sgemm call) and give 38 blocks at N = 19200, an even split.
constexpr int64_t kRowBlock = 512;

// Blocks are handed out dynamically: each writes its own rows, so the order does not matter, and a
// thread that loses its core for a while does not hold the others back.
template <typename F>
void for_row_blocks(int64_t N, bool team, F&& f) {
  const int64_t nblocks = (N + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(dynamic) if (team && nblocks > 1)
  for (int64_t b = 0; b < nblocks; ++b) f(b * kRowBlock, std::min(kRowBlock, N - b * kRowBlock));
}

// Rows per partial sum of dweight/dbias: 10 chunks at N = 19200 keep two threads balanced, and
// the slots (one (OC, C) block per chunk) stay small next to the inputs.
constexpr int64_t kRowChunk = 2048;

// A copy of x[0, n) with every value rounded to bf16 (MatmulPrecision::bf16's inputs).
std::vector<float> bf16_rounded(const float* x, int64_t n) {
  std::vector<float> r(size_t(n < 0 ? 0 : n));
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) r[size_t(i)] = to_float(to_bf16(x[i]));
  return r;
}

// A copy of x[0, n) in bf16 (native bf16 products' inputs).
std::vector<bf16> bf16_copy(const float* x, int64_t n) {
  std::vector<bf16> r(size_t(n < 0 ? 0 : n));
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) r[size_t(i)] = to_bf16(x[i]);
  return r;
}

// A copy of x[0, n) in bf16 into the calling thread's scratch `buf` (kept for the next call: a
// fresh buffer per product page-faults in every step).
const bf16* bf16_scratch(std::vector<bf16>& buf, const float* x, int64_t n) {
  if (buf.size() < size_t(n)) buf.resize(size_t(n));
  bf16* r = buf.data();
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) r[i] = to_bf16(x[i]);
  return r;
}

// A widened copy of bf16 x[0, n) (the emulation's inputs on a CPU without bf16 products).
std::vector<float> widened(const bf16* x, int64_t n) {
  std::vector<float> r(static_cast<size_t>(n < 0 ? 0 : n));
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) r[size_t(i)] = to_float(x[i]);
  return r;
}

inline float as_float(float x) { return x; }
inline float as_float(bf16 x) { return to_float(x); }

// out = inp · weightᵀ + bias in fixed row blocks; T = float, or bf16 for native bf16 products.
// out16 (optional): each block also rounded to bf16 while it is in cache.
template <typename T>
void forward_blocks(float* out, const T* inp, const T* weight, const float* bias, int64_t N, int C, int OC,
                    bf16* out16 = nullptr) {
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
    gemm(false, true, int(rows), OC, C, 1.0f, inp + n0 * C, C, weight, C, beta, o, OC);
    if (out16) {
      bf16* o16 = out16 + n0 * OC;
      const int64_t n = rows * OC;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o16[i] = to_bf16(o[i]);
    }
  });
}

// The gradients in fixed row chunks and blocks; T = float, or bf16 for native bf16 products.
template <typename T>
void backward_tasks(float* dinp, float* dweight, float* dbias, const T* dout, const T* inp, const T* weight,
                    int64_t N, int C, int OC) {
  BlasSingleThread single;
  const bool team = N * std::max(C, OC) >= kParallelMinWork;
  // Tasks, handed out dynamically in one parallel region: first the row chunks of dweight/dbias
  // (the larger tasks), then the row blocks of dinp. dweight and dbias are sums over all N rows:
  // each chunk's sums land in its own slot, and the slots are folded in chunk order afterwards,
  // so the result has the same bits for any team size.
  const bool wsum = dweight || dbias;
  const int64_t nchunks = wsum ? (N + kRowChunk - 1) / kRowChunk : 0;
  const int64_t nblocks = dinp ? (N + kRowBlock - 1) / kRowBlock : 0;
  const int64_t stride = int64_t(OC) * C + OC;  // one slot: (OC, C) weight sums, then (OC) bias
  std::unique_ptr<float[]> slots(wsum ? new float[size_t(nchunks * stride)] : nullptr);

  auto chunk_task = [&](int64_t ch) {
    const int64_t n0 = ch * kRowChunk, rows = std::min(kRowChunk, N - n0);
    float* sw = slots.get() + ch * stride;
    float* sb = sw + int64_t(OC) * C;
    if (dweight) {
      // sw (OC, C) = dout[n0:n0+rows]ᵀ (OC, rows) · inp[n0:n0+rows] (rows, C)
      gemm(true, false, OC, C, int(rows), 1.0f, dout + n0 * OC, OC, inp + n0 * C, C, 0.0f, sw, C);
    }
    if (dbias) {
      std::fill(sb, sb + OC, 0.0f);
      for (int64_t n = n0; n < n0 + rows; ++n) {
        const T* row = dout + n * OC;
#pragma omp simd
        for (int o = 0; o < OC; ++o) sb[o] += as_float(row[o]);
      }
    }
  };
  auto block_task = [&](int64_t b) {
    const int64_t n0 = b * kRowBlock, rows = std::min(kRowBlock, N - n0);
    // dinp (rows, C) += dout (rows, OC) · weight (OC, C)
    gemm(false, false, int(rows), C, OC, 1.0f, dout + n0 * OC, OC, weight, C, 1.0f, dinp + n0 * C, C);
  };
  // Adds the slots in chunk order into dst[i0, i1) (offset: where dst's values sit in a slot).
  auto fold = [&](float* dst, int64_t offset, int64_t i0, int64_t i1) {
    for (int64_t ch = 0; ch < nchunks; ++ch) {
      const float* src = slots.get() + ch * stride + offset;
#pragma omp simd
      for (int64_t i = i0; i < i1; ++i) dst[i] += src[i];
    }
  };
  constexpr int64_t kSpan = 4096;  // dweight elements per fold task
  const int64_t nspans = dweight ? (int64_t(OC) * C + kSpan - 1) / kSpan : 0;

#pragma omp parallel if (team && nchunks + nblocks > 1)
  {
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < nchunks + nblocks; ++task) {
      if (task < nchunks)
        chunk_task(task);
      else
        block_task(task - nchunks);
    }
    // (implicit barrier: every slot is written before the folds read them)
#pragma omp for schedule(static) nowait
    for (int64_t sp = 0; sp < nspans; ++sp)
      fold(dweight, 0, sp * kSpan, std::min(int64_t(OC) * C, (sp + 1) * kSpan));
#pragma omp single nowait
    if (dbias) fold(dbias, int64_t(OC) * C, 0, OC);
  }
}

}  // namespace

void matmul_forward(Device dev, float* out, const float* inp, const float* weight,
                    const float* bias, int64_t N, int C, int OC, MatmulPrecision prec) {
  check_shape("matmul_forward", N, C, OC);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(matmul_forward, out, inp, weight, bias, N, C, OC, prec);
  if (N == 0) return;
  if (prec == MatmulPrecision::bf16 && gemm_bf16_native()) {
    const std::vector<bf16> x = bf16_copy(inp, N * C), w = bf16_copy(weight, int64_t(OC) * C);
    return forward_blocks(out, x.data(), w.data(), bias, N, C, OC);
  }
  if (prec == MatmulPrecision::bf16) {
    const std::vector<float> x = bf16_rounded(inp, N * C), w = bf16_rounded(weight, int64_t(OC) * C);
    return forward_blocks(out, x.data(), w.data(), bias, N, C, OC);
  }
  forward_blocks(out, inp, weight, bias, N, C, OC);
}

void matmul_backward(Device dev, float* dinp, float* dweight, float* dbias, const float* dout,
                     const float* inp, const float* weight, int64_t N, int C, int OC,
                     MatmulPrecision prec) {
  check_shape("matmul_backward", N, C, OC);
  if (dev == Device::CUDA)
    SEQ_CUDA_TWIN(matmul_backward, dinp, dweight, dbias, dout, inp, weight, N, C, OC, prec);
  if (N == 0) return;
  if (prec == MatmulPrecision::bf16) {
    // The bias gradient sums dout itself (no product), so it keeps the unrounded values.
    if (dbias) matmul_backward(dev, nullptr, nullptr, dbias, dout, inp, weight, N, C, OC);
    if (gemm_bf16_native()) {
      const std::vector<bf16> d = bf16_copy(dout, N * OC), x = bf16_copy(inp, N * C),
                              w = bf16_copy(weight, int64_t(OC) * C);
      return backward_tasks(dinp, dweight, nullptr, d.data(), x.data(), w.data(), N, C, OC);
    }
    const std::vector<float> d = bf16_rounded(dout, N * OC), x = bf16_rounded(inp, N * C),
                             w = bf16_rounded(weight, int64_t(OC) * C);
    return backward_tasks(dinp, dweight, nullptr, d.data(), x.data(), w.data(), N, C, OC);
  }
  backward_tasks(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
}

void matmul_forward(Device dev, float* out, const bf16* inp, const bf16* weight, const float* bias,
                    int64_t N, int C, int OC, bf16* out16) {
  check_shape("matmul_forward", N, C, OC);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(matmul_forward, out, inp, weight, bias, N, C, OC, out16);
  if (N == 0) return;
  if (gemm_bf16_native()) return forward_blocks(out, inp, weight, bias, N, C, OC, out16);
  const std::vector<float> x = widened(inp, N * C), w = widened(weight, int64_t(OC) * C);
  forward_blocks(out, x.data(), w.data(), bias, N, C, OC, out16);
}

void matmul_backward(Device dev, float* dinp, float* dweight, float* dbias, const float* dout,
                     const bf16* inp, const bf16* weight, int64_t N, int C, int OC) {
  check_shape("matmul_backward", N, C, OC);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(matmul_backward, dinp, dweight, dbias, dout, inp, weight, N, C, OC);
  if (N == 0) return;
  // The bias gradient sums dout itself (no product), so it keeps the unrounded values.
  if (dbias) backward_tasks<float>(nullptr, nullptr, dbias, dout, nullptr, nullptr, N, C, OC);
  if (!dinp && !dweight) return;
  thread_local std::vector<bf16> dout16;
  matmul_backward(dev, dinp, dweight, nullptr, bf16_scratch(dout16, dout, N * OC), inp, weight, N, C, OC);
}

void matmul_backward(Device dev, float* dinp, float* dweight, float* dbias, const bf16* dout,
                     const bf16* inp, const bf16* weight, int64_t N, int C, int OC) {
  check_shape("matmul_backward", N, C, OC);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(matmul_backward, dinp, dweight, dbias, dout, inp, weight, N, C, OC);
  if (N == 0) return;
  if (gemm_bf16_native()) return backward_tasks(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
  const std::vector<float> d = widened(dout, N * OC), x = widened(inp, N * C), w = widened(weight, int64_t(OC) * C);
  backward_tasks(dinp, dweight, dbias, d.data(), x.data(), w.data(), N, C, OC);
}

}  // namespace seqmend
