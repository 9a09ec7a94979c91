#include "kernels/segment_mean.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/base/error.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::numeric_grad;
using test::random_floats;
using test::to_double;

// Sequences of lengths 3, 0, 1, 5 (an empty one in the middle).
const std::vector<int64_t> kCu = {0, 3, 3, 4, 9};
constexpr int64_t kB = 4, kN = 9;
constexpr int kC = 5;

std::vector<double> reference(const std::vector<double>& x) {
  std::vector<double> out(size_t(kB * kC), 0.0);
  for (int64_t s = 0; s < kB; ++s) {
    const int64_t lo = kCu[size_t(s)], hi = kCu[size_t(s) + 1];
    for (int64_t t = lo; t < hi; ++t)
      for (int c = 0; c < kC; ++c) out[size_t(s * kC + c)] += x[size_t(t * kC + c)] / double(hi - lo);
  }
  return out;
}

TEST(SegmentMean, ForwardMatchesDoubleReferenceAndEmptyPoolsToZero) {
  const auto x = random_floats(size_t(kN * kC), 3, -4.0f, 4.0f);
  std::vector<float> out(size_t(kB * kC), 123.0f);  // every element must be written
  segment_mean_forward(Device::CPU, out.data(), x.data(), kCu.data(), kB, kC);
  expect_close(out, reference(to_double(x)), 1e-6, 1e-7, "segment_mean forward");
  for (int c = 0; c < kC; ++c) EXPECT_EQ(out[size_t(1 * kC + c)], 0.0f);
}

TEST(SegmentMean, BackwardMatchesFiniteDifferencesAndAccumulates) {
  const auto x = random_floats(size_t(kN * kC), 4);
  const auto dout = random_floats(size_t(kB * kC), 5);
  auto dx = random_floats(size_t(kN * kC), 6);
  const auto dx0 = dx;
  segment_mean_backward(Device::CPU, dx.data(), dout.data(), kCu.data(), kB, kC);
  auto g = numeric_grad(
      [&](const std::vector<double>& v) {
        const auto o = reference(v);
        double l = 0;
        for (size_t i = 0; i < o.size(); ++i) l += o[i] * dout[i];
        return l;
      },
      to_double(x));
  for (size_t i = 0; i < g.size(); ++i) g[i] += dx0[i];
  expect_close(dx, g, 1e-5, 1e-6, "segment_mean backward");
}

TEST(SegmentMean, BadOffsetsAndSizesAreErrors) {
  const std::vector<int64_t> cu = {0, 4, 2};
  std::vector<float> x(20), out(10);
  EXPECT_THROW(segment_mean_forward(Device::CPU, out.data(), x.data(), cu.data(), 2, 5), Error);
  EXPECT_THROW(segment_mean_backward(Device::CPU, x.data(), out.data(), cu.data(), 2, 5), Error);
  EXPECT_THROW(segment_mean_forward(Device::CPU, out.data(), x.data(), cu.data(), 2, 0), Error);
}

}  // namespace
}  // namespace seqmend
