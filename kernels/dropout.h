// Inverted dropout whose mask is regenerated, not stored. token_keys identify a token by
// (sample, position), so a sample is masked the same way whichever rank or batch row holds it.
//
// Exact rule (both backends, the tests and the PyTorch twin all use it), with mix64, hash_combine
// and uniform01 from core/base/rng.h:
//   row  = hash_combine(seed, token_key)            = mix64(seed ^ mix64(token_key))
//   h    = hash_combine(row, c)                     = mix64(row ^ mix64(c))
//   keep = uniform01(h) >= p,  uniform01(h)         = float(h >> 40) · 2^−24
// all arithmetic in uint64 (wrapping), and a kept element is scaled by 1 / (1 − p) in f32.
// p = 0 keeps everything (uniform01 >= 0 always); p = 1 drops everything (uniform01 < 1).
// In numpy: mix64(x) = x + 0x9E3779B97F4A7C15; x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
//           x = (x ^ (x >> 27)) * 0x94D049BB133111EB; x ^ (x >> 31)   (np.uint64, wrapping).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/base/rng.h"
#include "kernels/device.h"

namespace seqmend {

struct DropoutSpec {
  float p = 0.0f;     // drop probability in [0, 1]; 0 disables
  uint64_t seed = 0;  // differs per step and per dropout site
};

// The per-token half of the hash, hoisted out of loops over c.
inline constexpr uint64_t dropout_row_hash(const DropoutSpec& d, uint64_t token_key) {
  return hash_combine(d.seed, token_key);
}
// keep for element c of a token whose row hash is `row`.
inline constexpr bool dropout_keep_in_row(uint64_t row, uint64_t c, float p) {
  return uniform01(hash_combine(row, c)) >= p;
}
// Whether element (token_key, c) survives; the single definition both backends and the tests use.
inline constexpr bool dropout_keep(const DropoutSpec& d, uint64_t token_key, uint64_t c) {
  return dropout_keep_in_row(dropout_row_hash(d, token_key), c, d.p);
}

// The same rule, rewritten exactly for loops over many rows of the same columns (the CPU kernels):
// mix64(c) does not depend on the token, so it is tabulated once (dropout_column_hashes), halving
// the 64-bit multiplies per element, which have no AVX2 instruction; and since uniform01(h) =
// (h >> 40) · 2^−24 with both factors exact in f32, uniform01(h) >= p is the integer test
// (h >> 40) >= ceil(p · 2^24).
inline uint64_t dropout_threshold(float p) { return uint64_t(std::ceil(double(p) * 16777216.0)); }
// out[i] = mix64(base + i), i < n.
inline void dropout_column_hashes(uint64_t* out, uint64_t base, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = mix64(base + uint64_t(i));
}
// dropout_keep_in_row(row, c, p) with mixed_c = mix64(c) and threshold = dropout_threshold(p).
inline constexpr bool dropout_keep_mixed(uint64_t row, uint64_t mixed_c, uint64_t threshold) {
  return (mix64(row ^ mixed_c) >> 40) >= threshold;
}

// out (N, C) = inp · keep / (1 − p). out may alias inp.
void dropout_forward(Device dev, float* out, const float* inp, const uint64_t* token_keys,
                     int64_t N, int C, const DropoutSpec& d);
// Accumulates dinp (N, C) += dout · keep / (1 − p).
void dropout_backward(Device dev, float* dinp, const float* dout, const uint64_t* token_keys,
                      int64_t N, int C, const DropoutSpec& d);

}  // namespace seqmend
