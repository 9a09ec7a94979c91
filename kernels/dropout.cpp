#include "kernels/dropout.h"

#include <cmath>
#include <vector>

#include "core/base/error.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

namespace {

void check_spec(const char* op, const DropoutSpec& d, int64_t N, int C) {
  SEQ_CHECK(N >= 0 && C > 0, op, ": bad shape N=", N, " C=", C);
  SEQ_CHECK(d.p >= 0.0f && d.p <= 1.0f, op, ": drop probability p=", d.p, " is outside [0, 1]");
}

// out[n, c] (=|+=) inp[n, c] · keep · 1/(1 − p); the mask is recomputed from the hash (with the
// exact rewrite of dropout.h: column hashes tabulated once per call, an integer test).
template <bool kAccumulate>
void dropout_apply(float* out, const float* inp, const uint64_t* token_keys, int64_t N, int C,
                   const DropoutSpec& d) {
  const float scale = d.p < 1.0f ? 1.0f / (1.0f - d.p) : 0.0f;
  const uint64_t threshold = dropout_threshold(d.p);
  std::vector<uint64_t> mixed_c(static_cast<size_t>(C));
  dropout_column_hashes(mixed_c.data(), 0, C);
  const uint64_t* mc = mixed_c.data();
#pragma omp parallel for schedule(static) if (N * C >= kParallelMinWork)
  for (int64_t n = 0; n < N; ++n) {
    const uint64_t row = dropout_row_hash(d, token_keys[n]);
    const float* x = inp + n * C;
    float* y = out + n * C;
#pragma omp simd
    for (int c = 0; c < C; ++c) {
      const bool keep = dropout_keep_mixed(row, mc[c], threshold);
      const float v = x[c] * (keep ? scale : 0.0f);
      if constexpr (kAccumulate)
        y[c] += v;
      else
        y[c] = v;
    }
  }
}

}  // namespace

void dropout_forward(Device dev, float* out, const float* inp, const uint64_t* token_keys,
                     int64_t N, int C, const DropoutSpec& d) {
  check_spec("dropout_forward", d, N, C);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(dropout_forward, out, inp, token_keys, N, C, d);
  if (d.p == 0.0f) {
    if (out != inp) {
#pragma omp parallel for simd schedule(static) if (N * C >= kParallelMinWork)
      for (int64_t i = 0; i < N * C; ++i) out[i] = inp[i];
    }
    return;
  }
  dropout_apply<false>(out, inp, token_keys, N, C, d);
}

void dropout_backward(Device dev, float* dinp, const float* dout, const uint64_t* token_keys,
                      int64_t N, int C, const DropoutSpec& d) {
  check_spec("dropout_backward", d, N, C);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(dropout_backward, dinp, dout, token_keys, N, C, d);
  if (d.p == 0.0f) {
#pragma omp parallel for simd schedule(static) if (N * C >= kParallelMinWork)
    for (int64_t i = 0; i < N * C; ++i) dinp[i] += dout[i];
    return;
  }
  dropout_apply<true>(dinp, dout, token_keys, N, C, d);
}

}  // namespace seqmend
