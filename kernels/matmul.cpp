#include "kernels/matmul.h"

#include <cblas.h>

#include <algorithm>

#include "core/base/error.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

namespace {

void check_shape(const char* op, int64_t N, int C, int OC) {
  SEQ_CHECK(N >= 0 && C > 0 && OC > 0, op, ": bad shape N=", N, " C=", C, " OC=", OC);
  // cblas takes int dimensions; (N, C) and (N, OC) row counts must fit.
  SEQ_CHECK(N <= INT32_MAX, op, ": N=", N, " exceeds the BLAS int range");
}

}  // namespace

void matmul_forward(Device dev, float* out, const float* inp, const float* weight, const float* bias,
                    int64_t N, int C, int OC) {
  if (dev == Device::CUDA) cuda_twin_missing("matmul_forward");
  check_shape("matmul_forward", N, C, OC);
  if (N == 0) return;
  float beta = 0.0f;
  if (bias) {
    // Pre-filling out with the bias lets one sgemm with beta = 1 do the rest; the rows are written
    // again by sgemm while still warm in cache for the small OC we use.
#pragma omp parallel for schedule(static) if (N * OC >= kParallelMinWork)
    for (int64_t n = 0; n < N; ++n) std::copy(bias, bias + OC, out + n * OC);
    beta = 1.0f;
  }
  // out (N, OC) = inp (N, C) · weight (OC, C)ᵀ
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), OC, C, 1.0f, inp, C, weight, C, beta,
              out, OC);
}

void matmul_backward(Device dev, float* dinp, float* dweight, float* dbias, const float* dout,
                     const float* inp, const float* weight, int64_t N, int C, int OC) {
  if (dev == Device::CUDA) cuda_twin_missing("matmul_backward");
  check_shape("matmul_backward", N, C, OC);
  if (N == 0) return;
  if (dinp) {
    // dinp (N, C) += dout (N, OC) · weight (OC, C)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(N), C, OC, 1.0f, dout, OC, weight, C,
                1.0f, dinp, C);
  }
  if (dweight) {
    // dweight (OC, C) += dout (N, OC)ᵀ · inp (N, C)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, int(N), 1.0f, dout, OC, inp, C, 1.0f,
                dweight, C);
  }
  if (dbias) {
    // Column sums of dout. Each thread owns a block of columns and walks every row in order, so
    // the summation order (and the result) is the same for any thread count.
    constexpr int kBlock = 32;
    const int nblocks = (OC + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (nblocks > 1 && N * OC >= kParallelMinWork)
    for (int b = 0; b < nblocks; ++b) {
      const int c0 = b * kBlock, w = std::min(kBlock, OC - c0);
      float acc[kBlock] = {};
      for (int64_t n = 0; n < N; ++n) {
        const float* row = dout + n * OC + c0;
#pragma omp simd
        for (int c = 0; c < w; ++c) acc[c] += row[c];
      }
      for (int c = 0; c < w; ++c) dbias[c0 + c] += acc[c];
    }
  }
}

}  // namespace seqmend
