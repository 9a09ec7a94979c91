#include "kernels/cast.h"

#include "core/base/error.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

void cast_to_bf16(Device dev, bf16* dst, const float* src, int64_t n) {
  SEQ_CHECK(n >= 0, "cast_to_bf16: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(cast_to_bf16, dst, src, n);
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) dst[i] = to_bf16(src[i]);
}

void cast_to_f32(Device dev, float* dst, const bf16* src, int64_t n) {
  SEQ_CHECK(n >= 0, "cast_to_f32: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(cast_to_f32, dst, src, n);
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) dst[i] = to_float(src[i]);
}

void add_bf16(Device dev, float* dst, const bf16* src, int64_t n) {
  SEQ_CHECK(n >= 0, "add_bf16: bad size n=", n);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(add_bf16, dst, src, n);
#pragma omp parallel for schedule(static) if (n >= kParallelMinWork)
  for (int64_t i = 0; i < n; ++i) dst[i] += to_float(src[i]);
}

}  // namespace seqmend
