// bfloat16 storage: the top 16 bits of an IEEE f32 (8 exponent bits, 7 mantissa bits). Ops that take
// bf16 tensors compute in f32 and round once when they store; the CUDA twins reinterpret these as
// __nv_bfloat16, which has the same bits.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace seqmend {

struct bf16 {
  uint16_t bits = 0;
};
static_assert(sizeof(bf16) == 2);

inline float to_float(bf16 x) {
  const uint32_t u = uint32_t(x.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest, ties to even (as __float2bfloat16_rn); NaN stays a quiet NaN.
inline bf16 to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)
    return bf16{uint16_t((u >> 16) | 0x0040u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{uint16_t(u >> 16)};
}

inline std::vector<float> to_float(const bf16* x, int64_t n) {
  std::vector<float> out(size_t(n < 0 ? 0 : n));
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = to_float(x[i]);
  return out;
}

inline void to_bf16(bf16* dst, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = to_bf16(x[i]);
}

}  // namespace seqmend
