#include "kernels/layernorm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/error.h"
#include "kernels/threads.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::numeric_grad;
using test::random_floats;
using test::to_double;

constexpr double kEps = 1e-5;

// Two-pass layernorm in double.
std::vector<double> ref_layernorm(const std::vector<double>& x, const std::vector<double>& w,
                                  const std::vector<double>& b, int N, int C,
                                  std::vector<double>* mean = nullptr,
                                  std::vector<double>* rstd = nullptr) {
  std::vector<double> out(x.size());
  for (int n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int c = 0; c < C; ++c) m += x[n * C + c];
    m /= C;
    for (int c = 0; c < C; ++c) v += (x[n * C + c] - m) * (x[n * C + c] - m);
    v /= C;
    const double r = 1.0 / std::sqrt(v + kEps);
    for (int c = 0; c < C; ++c) out[n * C + c] = (x[n * C + c] - m) * r * w[c] + b[c];
    if (mean) mean->push_back(m);
    if (rstd) rstd->push_back(r);
  }
  return out;
}

TEST(Layernorm, ForwardMatchesDoubleReference) {
  for (auto [N, C] : {std::pair{1, 1}, {3, 7}, {17, 64}, {40, 256}, {5, 33}}) {
    auto x = random_floats(size_t(N) * C, 1, -2.0f, 2.0f);
    // Odd rows sit far from 0 with a small spread: the case where a naive one-pass
    // E[x²] − E[x]² cancels (here it would lose ~20% of the variance).
    for (int n = 1; n < N; n += 2)
      for (int c = 0; c < C; ++c) x[size_t(n) * C + c] = 100.0f + 0.1f * x[size_t(n) * C + c];
    auto w = random_floats(C, 2), b = random_floats(C, 3);
    std::vector<float> out(x.size()), mean(N), rstd(N);
    layernorm_forward(Device::CPU, out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                      b.data(), N, C, float(kEps));
    std::vector<double> rm, rr;
    auto ref = ref_layernorm(to_double(x), to_double(w), to_double(b), N, C, &rm, &rr);
    expect_close(out, ref, 1e-5, 1e-5, str("layernorm out ", N, "x", C));
    expect_close(mean, rm, 1e-6, 1e-6, "layernorm mean");
    expect_close(rstd, rr, 2e-4, 1e-5, "layernorm rstd");
  }
}

TEST(Layernorm, BackwardMatchesFiniteDifferencesAndAccumulates) {
  for (auto [N, C] : {std::pair{3, 7}, {2, 16}, {4, 1}, {70, 5}}) {
    auto x = random_floats(size_t(N) * C, 10, -2.0f, 2.0f);
    auto w = random_floats(C, 11), b = random_floats(C, 12);
    auto dout = random_floats(x.size(), 13);
    std::vector<float> out(x.size()), mean(N), rstd(N);
    layernorm_forward(Device::CPU, out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                      b.data(), N, C, float(kEps));
    auto dx = random_floats(x.size(), 14), dw = random_floats(C, 15), db = random_floats(C, 16);
    const auto dx0 = dx, dw0 = dw, db0 = db;
    layernorm_backward(Device::CPU, dx.data(), dw.data(), db.data(), dout.data(), x.data(),
                       w.data(), mean.data(), rstd.data(), N, C);
    const auto xd = to_double(x), wd = to_double(w), bd = to_double(b), gd = to_double(dout);
    auto loss = [&](const std::vector<double>& xx, const std::vector<double>& ww,
                    const std::vector<double>& bb) {
      auto o = ref_layernorm(xx, ww, bb, N, C);
      double l = 0;
      for (size_t i = 0; i < o.size(); ++i) l += o[i] * gd[i];
      return l;
    };
    auto gx = numeric_grad([&](const std::vector<double>& v) { return loss(v, wd, bd); }, xd);
    auto gw = numeric_grad([&](const std::vector<double>& v) { return loss(xd, v, bd); }, wd);
    auto gb = numeric_grad([&](const std::vector<double>& v) { return loss(xd, wd, v); }, bd);
    for (size_t i = 0; i < gx.size(); ++i) gx[i] += dx0[i];
    for (size_t i = 0; i < gw.size(); ++i) gw[i] += dw0[i];
    for (size_t i = 0; i < gb.size(); ++i) gb[i] += db0[i];
    expect_close(dx, gx, 1e-3, 1e-4, str("layernorm dinp ", N, "x", C));
    expect_close(dw, gw, 1e-3, 1e-4, "layernorm dweight");
    expect_close(db, gb, 1e-4, 1e-4, "layernorm dbias");
  }
}

TEST(Layernorm, BackwardIsBitwiseTheSameForAnyThreadCount) {
  const int N = 1000, C = 64;  // many row chunks
  auto x = random_floats(size_t(N) * C, 20), w = random_floats(C, 21), b = random_floats(C, 22);
  auto dout = random_floats(x.size(), 23);
  std::vector<float> out(x.size()), mean(N), rstd(N);
  layernorm_forward(Device::CPU, out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(),
                    N, C, 1e-5f);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> g(x.size() + 2 * C, 0.0f);
    layernorm_backward(Device::CPU, g.data(), g.data() + x.size(), g.data() + x.size() + C,
                       dout.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
    return g;
  };
  const int saved = num_threads();
  auto one = run(1), two = run(2), three = run(3);
  set_num_threads(saved);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
}

TEST(Layernorm, CudaIsAnErrorUntilItsTwinExists) {
  float x = 0;
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(layernorm_forward(Device::CUDA, &x, &x, &x, &x, &x, &x, 1, 1, 1e-5f), Error);
  }
}

}  // namespace
}  // namespace seqmend
