#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/error.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

void add_inplace(Device dev, float* out, const float* inp, int64_t n) {
  SEQ_CHECK(n >= 0, "add_inplace: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(add_inplace, out, inp, n);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) out[i] += inp[i];
}

void scale_inplace(Device dev, float* x, int64_t n, float s) {
  SEQ_CHECK(n >= 0, "scale_inplace: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(scale_inplace, x, n, s);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void fill(Device dev, float* x, int64_t n, float value) {
  SEQ_CHECK(n >= 0, "fill: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(fill, x, n, value);
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) x[i] = value;
}

double sum_squares(Device dev, const float* x, int64_t n) {
  SEQ_CHECK(n >= 0, "sum_squares: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(sum_squares, x, n);
  // Fixed chunks summed in chunk order: the same bits for any thread count.
  constexpr int64_t kChunk = 1 << 16;
  const int64_t nchunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(size_t(nchunks), 0.0);
#pragma omp parallel for schedule(static) if (nchunks > 1)
  for (int64_t ch = 0; ch < nchunks; ++ch) {
    const int64_t i0 = ch * kChunk, i1 = std::min(n, i0 + kChunk);
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = i0; i < i1; ++i) acc += double(x[i]) * double(x[i]);
    partial[size_t(ch)] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

double clip_global_norm(Device dev, float* x, int64_t n, double max_norm) {
  SEQ_CHECK(n >= 0, "clip_global_norm: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(clip_global_norm, x, n, max_norm);
  const double norm = std::sqrt(sum_squares(dev, x, n));
  SEQ_CHECK(std::isfinite(norm), "clip_global_norm: the global norm of ", n,
            " values is not finite (", norm, "); a gradient has overflowed or is NaN");
  // As torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e−6), applied only when < 1.
  if (max_norm > 0.0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) scale_inplace(dev, x, n, float(coef));
  }
  return norm;
}

}  // namespace seqmend
