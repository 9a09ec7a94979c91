#include "kernels/segment_mean.h"

#include "core/base/error.h"
#include "kernels/dispatch.h"

namespace seqmend {

// Sizes, before the dispatch. The offsets in `cu` are checked by the CPU body as it reads them; the
// CUDA twin trusts the caller (they live in device memory there).
static void check_sizes(const char* op, int64_t B, int C) {
  SEQ_CHECK(B >= 0 && C > 0, op, ": bad sizes B=", B, " C=", C);
}

void segment_mean_forward(Device dev, float* out, const float* inp, const int64_t* cu, int64_t B, int C) {
  check_sizes("segment_mean_forward", B, C);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(segment_mean_forward, out, inp, cu, B, C);
  for (int64_t s = 0; s < B; ++s) {
    float* o = out + s * C;
    for (int c = 0; c < C; ++c) o[c] = 0.0f;
    const int64_t lo = cu[s], hi = cu[s + 1];
    SEQ_CHECK(hi >= lo, "segment_mean_forward: sequence ", s, " ends (", hi, ") before it starts (", lo, ")");
    for (int64_t t = lo; t < hi; ++t)
      for (int c = 0; c < C; ++c) o[c] += inp[t * C + c];
    const float inv = hi > lo ? 1.0f / float(hi - lo) : 0.0f;
    for (int c = 0; c < C; ++c) o[c] *= inv;
  }
}

void segment_mean_backward(Device dev, float* dinp, const float* dout, const int64_t* cu, int64_t B, int C) {
  check_sizes("segment_mean_backward", B, C);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(segment_mean_backward, dinp, dout, cu, B, C);
  for (int64_t s = 0; s < B; ++s) {
    const int64_t lo = cu[s], hi = cu[s + 1];
    SEQ_CHECK(hi >= lo, "segment_mean_backward: sequence ", s, " ends (", hi, ") before it starts (", lo, ")");
    if (hi == lo) continue;
    const float inv = 1.0f / float(hi - lo);
    for (int64_t t = lo; t < hi; ++t)
      for (int c = 0; c < C; ++c) dinp[t * C + c] += dout[s * C + c] * inv;
  }
}

}  // namespace seqmend
