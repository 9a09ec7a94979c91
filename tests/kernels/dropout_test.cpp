#include "kernels/dropout.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/error.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::random_floats;

std::vector<uint64_t> keys_for(int64_t N, uint64_t sample) {
  std::vector<uint64_t> k(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) k[size_t(n)] = (sample << 32) | uint64_t(n);
  return k;
}

TEST(Dropout, KeepRuleMatchesTheDocumentedHashChain) {
  // The top 24 bits of hash_combine(hash_combine(seed, key), c) for c = 0..11, computed with
  // Python integers masked to 64 bits following the formula in dropout.h (the same arithmetic the
  // numpy twin uses), for seed = 20261128, key = (7 << 32) | 42.
  const uint64_t seed = 20261128, key = (uint64_t(7) << 32) | 42;
  const uint32_t top24[12] = {14053492, 16678640, 14186527, 10904192, 9644438,  13705302,
                              5274343,  1656666,  5276505,  2196408,  13145384, 6697438};
  const DropoutSpec d{0.3f, seed};
  for (uint64_t c = 0; c < 12; ++c) {
    EXPECT_EQ(hash_combine(hash_combine(seed, key), c) >> 40, top24[c]) << "c=" << c;
    EXPECT_EQ(dropout_keep(d, key, c), float(top24[c]) / 16777216.0f >= 0.3f) << "c=" << c;
  }
  // From the same script: keep pattern at p = 0.3.
  const bool keep[12] = {1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1};
  for (uint64_t c = 0; c < 12; ++c) EXPECT_EQ(dropout_keep(d, key, c), keep[c]) << "c=" << c;

  // At the boundary: p equal to an element's uniform draw keeps it (>=), the next float up drops
  // it, in the batched kernel as in dropout_keep.
  const float at = float(top24[3]) / 16777216.0f;
  std::vector<float> ones(12, 1.0f), out(12);
  for (float p : {at, std::nextafter(at, 1.0f)}) {
    const DropoutSpec e{p, seed};
    dropout_forward(Device::CPU, out.data(), ones.data(), &key, 1, 12, e);
    EXPECT_EQ(out[3] != 0.0f, p == at) << "p=" << p;
    for (uint64_t c = 0; c < 12; ++c) EXPECT_EQ(out[c] != 0.0f, dropout_keep(e, key, c)) << c;
  }
}

TEST(Dropout, ForwardScalesKeptElementsAndKeepsAboutOneMinusP) {
  // 0.3f and 1/3 are not multiples of 2^−24: the kernel's integer threshold must round as
  // uniform01(h) >= p does.
  for (float p : {0.1f, 0.3f, 0.5f, 1.0f / 3.0f, 0.9f}) {
    const int64_t N = 1000;
    const int C = 67;
    auto x = random_floats(size_t(N) * C, 1);
    auto keys = keys_for(N, 3);
    const DropoutSpec d{p, 99};
    std::vector<float> out(x.size());
    dropout_forward(Device::CPU, out.data(), x.data(), keys.data(), N, C, d);
    int64_t kept = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int c = 0; c < C; ++c) {
        const bool k = dropout_keep(d, keys[n], uint64_t(c));
        kept += k;
        const float want = k ? x[n * C + c] * (1.0f / (1.0f - p)) : 0.0f;
        ASSERT_EQ(out[n * C + c], want) << "n=" << n << " c=" << c;
      }
    // Binomial(67000, 1 − p): 5 standard deviations.
    const double total = double(N) * C, sd = std::sqrt(total * p * (1 - p));
    EXPECT_NEAR(double(kept), total * (1 - p), 5 * sd) << "p=" << p;
  }
}

TEST(Dropout, BackwardMatchesFiniteDifferencesOfDoubleReference) {
  const int64_t N = 6;
  const int C = 9;
  const DropoutSpec d{0.4f, 5};
  auto keys = keys_for(N, 2);
  auto x = random_floats(size_t(N) * C, 8), dout = random_floats(size_t(N) * C, 9);
  auto dx = random_floats(x.size(), 10);
  const auto dx0 = dx;
  dropout_backward(Device::CPU, dx.data(), dout.data(), keys.data(), N, C, d);
  // Σ dout · dropout(x) in double, the mask from dropout_keep.
  auto g = test::numeric_grad(
      [&](const std::vector<double>& v) {
        double l = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int c = 0; c < C; ++c)
            if (dropout_keep(d, keys[n], uint64_t(c)))
              l += v[n * C + c] / (1.0 - 0.4) * dout[n * C + c];
        return l;
      },
      test::to_double(x));
  for (size_t i = 0; i < g.size(); ++i) g[i] += dx0[i];
  test::expect_close(dx, g, 1e-5, 1e-6, "dropout backward");
}

TEST(Dropout, MaskFollowsTheTokenKeyNotTheRow) {
  const int C = 19;
  const DropoutSpec d{0.5f, 7};
  std::vector<uint64_t> keys = {11, 22, 33};
  std::vector<uint64_t> swapped = {33, 11, 22};
  std::vector<float> ones(3 * C, 1.0f), a(3 * C), b(3 * C);
  dropout_forward(Device::CPU, a.data(), ones.data(), keys.data(), 3, C, d);
  dropout_forward(Device::CPU, b.data(), ones.data(), swapped.data(), 3, C, d);
  for (int c = 0; c < C; ++c) {
    EXPECT_EQ(a[0 * C + c], b[1 * C + c]);
    EXPECT_EQ(a[2 * C + c], b[0 * C + c]);
  }
  const DropoutSpec other{0.5f, 8};  // another seed gives another mask
  std::vector<float> e(3 * C);
  dropout_forward(Device::CPU, e.data(), ones.data(), keys.data(), 3, C, other);
  EXPECT_NE(a, e);
}

TEST(Dropout, InPlaceBackwardAccumulatesAndEdgeProbabilities) {
  const int64_t N = 31;
  const int C = 33;
  auto x = random_floats(size_t(N) * C, 5);
  auto keys = keys_for(N, 1);
  const DropoutSpec d{0.25f, 123};
  std::vector<float> out(x.size());
  dropout_forward(Device::CPU, out.data(), x.data(), keys.data(), N, C, d);
  auto inplace = x;
  dropout_forward(Device::CPU, inplace.data(), inplace.data(), keys.data(), N, C, d);
  EXPECT_EQ(inplace, out);

  // The op is linear, so its backward is the same mask: dinp += dout · keep / (1 − p).
  auto dout = random_floats(x.size(), 6), dinp = random_floats(x.size(), 7);
  const auto dinp0 = dinp;
  dropout_backward(Device::CPU, dinp.data(), dout.data(), keys.data(), N, C, d);
  std::vector<float> masked(x.size());
  dropout_forward(Device::CPU, masked.data(), dout.data(), keys.data(), N, C, d);
  // (NEAR: the kernel may fuse the multiply-add, which rounds once instead of twice.)
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(dinp[i], dinp0[i] + masked[i], 1e-6f) << i;

  std::vector<float> y(x.size());
  dropout_forward(Device::CPU, y.data(), x.data(), keys.data(), N, C, DropoutSpec{0.0f, 1});
  EXPECT_EQ(y, x);
  dropout_forward(Device::CPU, y.data(), x.data(), keys.data(), N, C, DropoutSpec{1.0f, 1});
  for (float v : y) ASSERT_EQ(v, 0.0f);
  EXPECT_THROW(
      dropout_forward(Device::CPU, y.data(), x.data(), keys.data(), N, C, DropoutSpec{1.5f, 1}),
      Error);
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(dropout_forward(Device::CUDA, y.data(), x.data(), keys.data(), N, C, d), Error);
  }
}

}  // namespace
}  // namespace seqmend
