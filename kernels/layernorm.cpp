#include "kernels/layernorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/error.h"
#include "kernels/bf16.h"
#include "kernels/dispatch.h"
#include "kernels/parallel_grain.h"

namespace seqmend {

namespace {

inline void store(float* o, float v) { *o = v; }
inline void store(bf16* o, float v) { *o = to_bf16(v); }

// The forward rows; T = float, or bf16 (the f32 result rounded once).
template <typename T>
void forward_rows(T* out, float* mean, float* rstd, const float* inp, const float* weight, const float* bias,
                  int64_t N, int C, float eps) {
#pragma omp parallel for schedule(static) if (N * C >= kParallelMinWork)
  for (int64_t n = 0; n < N; ++n) {
    const float* x = inp + n * C;
    // One pass for both moments. Shifting by the row's first element keeps E[x²] − E[x]² from
    // cancelling when |mean| >> std (the shifted mean is then of the order of std).
    const float k = x[0];
    float s1 = 0.0f, s2 = 0.0f;
#pragma omp simd reduction(+ : s1, s2)
    for (int c = 0; c < C; ++c) {
      const float d = x[c] - k;
      s1 += d;
      s2 += d * d;
    }
    const float dm = s1 / float(C);
    const float var = std::max(s2 / float(C) - dm * dm, 0.0f);  // biased, as PyTorch
    const float r = 1.0f / std::sqrt(var + eps);
    T* o = out + n * C;
    // (x − k) − dm rather than x − mean: x − k is exact for nearby values, and mean = k + dm
    // would round to the ulp of |mean|.
#pragma omp simd
    for (int c = 0; c < C; ++c) store(o + c, ((x[c] - k) - dm) * r * weight[c] + bias[c]);
    mean[n] = k + dm;
    rstd[n] = r;
  }
}

}  // namespace

void layernorm_forward(Device dev, float* out, float* mean, float* rstd, const float* inp,
                       const float* weight, const float* bias, int64_t N, int C, float eps) {
  SEQ_CHECK(N >= 0 && C > 0, "layernorm_forward: bad shape N=", N, " C=", C);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(layernorm_forward, out, mean, rstd, inp, weight, bias, N, C, eps);
  forward_rows(out, mean, rstd, inp, weight, bias, N, C, eps);
}

void layernorm_forward(Device dev, bf16* out, float* mean, float* rstd, const float* inp,
                       const float* weight, const float* bias, int64_t N, int C, float eps) {
  SEQ_CHECK(N >= 0 && C > 0, "layernorm_forward: bad shape N=", N, " C=", C);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(layernorm_forward, out, mean, rstd, inp, weight, bias, N, C, eps);
  forward_rows(out, mean, rstd, inp, weight, bias, N, C, eps);
}

void layernorm_backward(Device dev, float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        int64_t N, int C) {
  SEQ_CHECK(N >= 0 && C > 0, "layernorm_backward: bad shape N=", N, " C=", C);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(layernorm_backward, dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  if (N == 0) return;
  // dweight/dbias are sums over rows. Rows go in fixed chunks, each chunk sums into its own slot,
  // and the slots are added in chunk order: deterministic for any thread count.
  constexpr int64_t kChunk = 64;
  const int64_t nchunks = (N + kChunk - 1) / kChunk;
  std::vector<float> partial(size_t(nchunks) * 2 * C);  // (nchunks, 2, C): dweight, dbias
#pragma omp parallel for schedule(static) if (N * C >= kParallelMinWork)
  for (int64_t ch = 0; ch < nchunks; ++ch) {
    float* pw = partial.data() + ch * 2 * C;
    float* pb = pw + C;
    const int64_t n1 = std::min(N, (ch + 1) * kChunk);
    for (int64_t n = ch * kChunk; n < n1; ++n) {
      const float* x = inp + n * C;
      const float* dy = dout + n * C;
      const float m = mean[n], r = rstd[n];
      // dnorm = dy · w;  dx = r · (dnorm − mean(dnorm) − xhat · mean(dnorm · xhat))
      float sd = 0.0f, sdx = 0.0f;
#pragma omp simd reduction(+ : sd, sdx)
      for (int c = 0; c < C; ++c) {
        const float xhat = (x[c] - m) * r;
        const float dn = dy[c] * weight[c];
        sd += dn;
        sdx += dn * xhat;
        pw[c] += dy[c] * xhat;
        pb[c] += dy[c];
      }
      const float a = sd / float(C), b = sdx / float(C);
      float* dx = dinp + n * C;
#pragma omp simd
      for (int c = 0; c < C; ++c) {
        const float xhat = (x[c] - m) * r;
        dx[c] += (dy[c] * weight[c] - a - xhat * b) * r;
      }
    }
  }
  // (nchunks × 2C adds: small next to the chunk work, so serial.)
  std::vector<float> total(2 * size_t(C), 0.0f);
  for (int64_t ch = 0; ch < nchunks; ++ch) {
    const float* p = partial.data() + ch * 2 * C;
#pragma omp simd
    for (int c = 0; c < 2 * C; ++c) total[c] += p[c];
  }
  for (int c = 0; c < C; ++c) {
    dweight[c] += total[c];
    dbias[c] += total[C + c];
  }
}

}  // namespace seqmend
