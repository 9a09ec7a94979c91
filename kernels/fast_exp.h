// exp(x) for float written so that GCC/Clang vectorise the loops that call it (std::exp is a call
// into libm and keeps softmax loops scalar: ~10× slower on the attention and cross-entropy rows).
// Range reduction x = n·ln2 + r with |r| <= ln2/2, a degree-7 polynomial for e^r (Cephes' expf
// coefficients) and 2^n built in the exponent bits. Relative error stays below ~2e-7 over the range;
// inputs below −87.3 give exactly 0 (so exp(−inf) = 0), inputs above 88.7 give +inf, NaN gives NaN.
#pragma once

#include <bit>
#include <cstdint>

namespace seqmend {

inline float fast_exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;      // ln 2 split so n·kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kLo = -87.33654f, kHi = 88.72283f;
  const float xc = x < kLo ? kLo : (x > kHi ? kHi : x);
  // Adding 1.5·2^23 rounds xc·log2(e) to the nearest integer in the low mantissa bits: n as a float
  // and as an int without floorf or a float→int conversion (floorf blocks vectorisation unless
  // built with -fno-trapping-math).
  constexpr float kShift = 12582912.0f;
  const float shifted = xc * kLog2e + kShift;
  const float n = shifted - kShift;
  const int32_t ni = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kShift);
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // n ∈ [−126, 128]: 2^n as exponent bits; n = 128 only at the very top, which the inf select covers.
  int32_t e = ni + 127;
  e = e < 1 ? 1 : (e > 254 ? 254 : e);
  const float two_n = std::bit_cast<float>(e << 23);
  float y = p * two_n;
  y = x < kLo ? 0.0f : y;
  y = x > kHi ? __builtin_inff() : y;
  return x != x ? x : y;
}

}  // namespace seqmend
