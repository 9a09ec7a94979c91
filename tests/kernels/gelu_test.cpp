#include "kernels/gelu.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/error.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::numeric_grad;
using test::random_floats;
using test::to_double;

double ref_gelu(double x) {
  const double s = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(s * (x + 0.044715 * x * x * x)));
}

TEST(Gelu, ForwardMatchesDoubleReference) {
  for (size_t n : {1, 15, 16, 17, 1000, 4099}) {
    auto x = random_floats(n, n, -6.0f, 6.0f);
    x[0] = n > 1 ? -60.0f : 0.0f;
    std::vector<float> out(n);
    gelu_forward(Device::CPU, out.data(), x.data(), int64_t(n));
    std::vector<double> ref(n);
    for (size_t i = 0; i < n; ++i) ref[i] = ref_gelu(x[i]);
    expect_close(out, ref, 2e-6, 1e-7, str("gelu forward n=", n));
  }
}

TEST(Gelu, MatchesPyTorchTanhApproximation) {
  // torch 1.13, float32: nn.GELU(approximate="tanh") on these inputs, then .sum().backward().
  // Where 1 + tanh(u) cancels (x <= −5) PyTorch's float result is itself off by ~1e-7 absolute,
  // hence the absolute tolerance.
  const std::vector<float> x = {-10.0f, -5.0f, -3.0f, -1.0f, -0.5f, -1e-3f,
                                0.0f,   0.25f, 1.0f,  2.0f,  3.0f,  8.0f};
  const std::vector<double> y = {
      -0.0, -2.98023224e-07, -0.00363743305, -0.158807993, -0.154285997, -0.000499601068,
      0.0,  0.149675354,     0.841192007,    1.95459771,   2.99636269,   8.0};
  const std::vector<double> dx = {0.0,        -2.01087573e-06, -0.0115842968, -0.0829640925,
                                  0.13263011, 0.499202132,     0.5,           0.695354104,
                                  1.08296406, 1.08609927,      1.01158428,    1.0};
  std::vector<float> out(x.size()), grad(x.size(), 0.0f), ones(x.size(), 1.0f);
  gelu_forward(Device::CPU, out.data(), x.data(), int64_t(x.size()));
  gelu_backward(Device::CPU, grad.data(), x.data(), ones.data(), int64_t(x.size()));
  expect_close(out, y, 1e-6, 1e-6, "gelu vs torch");
  expect_close(grad, dx, 1e-6, 3e-6, "gelu grad vs torch");
}

TEST(Gelu, BackwardMatchesFiniteDifferencesAndAccumulates) {
  const size_t n = 67;
  auto x = random_floats(n, 5, -5.0f, 5.0f);
  x[3] = 0.0f;
  x[4] = -30.0f;
  x[5] = 30.0f;
  auto dout = random_floats(n, 6);
  auto dx = random_floats(n, 7);
  const auto dx0 = dx;
  gelu_backward(Device::CPU, dx.data(), x.data(), dout.data(), int64_t(n));
  auto g = numeric_grad(
      [&](const std::vector<double>& v) {
        double l = 0;
        for (size_t i = 0; i < n; ++i) l += ref_gelu(v[i]) * dout[i];
        return l;
      },
      to_double(x));
  for (size_t i = 0; i < n; ++i) g[i] += dx0[i];
  expect_close(dx, g, 1e-5, 1e-6, "gelu backward");
}

TEST(Gelu, NaNPropagatesAndCudaIsAnError) {
  std::vector<float> x = {NAN, 1.0f}, out(2);
  gelu_forward(Device::CPU, out.data(), x.data(), 2);
  EXPECT_TRUE(std::isnan(out[0]));
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(gelu_forward(Device::CUDA, out.data(), x.data(), 2), Error);
  }
}

}  // namespace
}  // namespace seqmend
