#include "kernels/bf16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

namespace seqmend {
namespace {

uint16_t bits_of(float f) { return to_bf16(f).bits; }

TEST(Bf16, RoundsToNearestEvenAndKeepsSpecialValues) {
  EXPECT_EQ(bits_of(1.0f), 0x3f80);
  EXPECT_EQ(bits_of(-2.0f), 0xc000);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (down here) ...
  EXPECT_EQ(bits_of(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // ... and 1 + 3·2^-8 halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up.
  EXPECT_EQ(bits_of(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  // Just above the halfway point rounds up.
  EXPECT_EQ(bits_of(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3f81);
  EXPECT_EQ(bits_of(-0.0f), 0x8000);
  EXPECT_EQ(bits_of(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(bits_of(std::numeric_limits<float>::max()), 0x7f80);  // rounds past the largest bf16
  EXPECT_TRUE(std::isnan(to_float(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low bits must not become infinity.
  EXPECT_TRUE(std::isnan(to_float(to_bf16(std::bit_cast<float>(0x7f800001u)))));
}

TEST(Bf16, WideningIsExactAndRoundTripsEveryBf16) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const bf16 x{uint16_t(b)};
    const float f = to_float(x);
    if (std::isnan(f)) continue;
    EXPECT_EQ(to_bf16(f).bits, x.bits) << "bits " << b;
  }
  EXPECT_EQ(to_float(bf16{0x3f80}), 1.0f);
  EXPECT_EQ(to_float(bf16{0x4049}), 3.140625f);
}

}  // namespace
}  // namespace seqmend
