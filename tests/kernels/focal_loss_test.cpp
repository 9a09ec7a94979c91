#include "kernels/focal_loss.h"

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

// The definition in plain double, through log-sigmoids (a different route from the kernel's):
// log σ(z) = −softplus(−z); p = exp(log σ(x)), 1 − p = exp(log σ(−x)).
double softplus(double z) { return std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z))); }
double ref_focal(double x, double y, double alpha, double gamma) {
  const double lp = -softplus(-x), lq = -softplus(x);  // log p, log(1 − p)
  const double p = std::exp(lp), p1 = std::exp(lq);
  const double ce = -(y * lp + (1 - y) * lq);
  const double q = p * (1 - y) + p1 * y;  // 1 − p_t
  const double at = alpha < 0 ? 1.0 : alpha * y + (1 - alpha) * (1 - y);
  return at * std::pow(q, gamma) * ce;
}

struct Case {
  std::vector<float> x, y, w;
};

Case random_case(size_t n, uint64_t seed) {
  Case c{random_floats(n, seed, -8.0f, 8.0f), random_floats(n, seed + 1, 0.0f, 1.0f),
         random_floats(n, seed + 2, 0.0f, 2.0f)};
  for (size_t i = 0; i < n; ++i) {
    if (i % 5 != 4) c.y[i] = c.y[i] < 0.5f ? 0.0f : 1.0f;  // mostly hard targets, some soft
    if (i % 7 == 3) c.w[i] = 0.0f;                         // masked out
  }
  return c;
}

TEST(FocalLoss, MatchesPyTorchFormulaAtKnownPoints) {
  // torch 1.13, float64: torchvision's sigmoid_focal_loss written out (sigmoid, BCE-with-logits,
  // p_t = p·y + (1 − p)(1 − y), loss = ce·(1 − p_t)^γ, times α_t when α >= 0), .sum().backward().
  const std::vector<float> x = {-3.0f, -0.5f, 0.0f, 0.7f, 2.5f, 4.0f};
  const std::vector<float> y = {1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.3f};
  struct Want {
    float alpha, gamma;
    std::vector<double> loss, grad;
  };
  const Want wants[] = {{0.25f,
                         2.0f,
                         {0.69157011025631554, 0.050680117888127721, 0.04332169878499658,
                          0.36940865971238152, 0.00011349202365712531, 0.81159248728665734},
                         {-0.28168747015872214, 0.10345274801318578, -0.074571698784996587,
                          0.46889542172532295, -0.00031889623216572267, 0.21296446904124994}},
                        {-1.0f,
                         0.5f,
                         {2.9754183296501915, 0.29129346514639748, 0.49012907173427361,
                          0.90177465069200846, 0.021728097569881109, 2.3456853886361064},
                         {-1.0002673398454893, 0.32263653285609278, -0.47608565852684215,
                          0.69580501029708786, -0.030933057682051214, 0.57963416475580032}}};
  for (const Want& w : wants) {
    std::vector<double> losses;
    std::vector<float> grad(x.size(), 0.0f);
    for (size_t i = 0; i < x.size(); ++i) {
      FocalArgs a{&x[i], &y[i], nullptr, 1, w.alpha, w.gamma};
      losses.push_back(sigmoid_focal_loss(Device::CPU, a, &grad[i]));
    }
    // 1e-7: the soft target 0.3 is 0.300000012 as a float, which moves the last element's loss.
    expect_close(losses, w.loss, 1e-7, 1e-15, str("focal loss vs torch, gamma ", w.gamma));
    expect_close(grad, w.grad, 2e-7, 1e-8, str("focal grad vs torch, gamma ", w.gamma));
  }
}

TEST(FocalLoss, SumAndGradientMatchDoubleReference) {
  for (float gamma : {0.0f, 0.5f, 2.0f}) {
    for (float alpha : {0.25f, -1.0f}) {
      for (size_t n : {1, 13, 3000}) {  // 3000: several parallel chunks
        Case c = random_case(n, n + 17);
        FocalArgs a{c.x.data(), c.y.data(), c.w.data(), int64_t(n), alpha, gamma};
        std::vector<float> grad = random_floats(n, 5);
        const auto grad0 = grad;
        const float scale = 0.5f;
        const double total = sigmoid_focal_loss(Device::CPU, a, grad.data(), scale);
        auto sum = [&](const std::vector<double>& xs) {
          double s = 0;
          for (size_t i = 0; i < n; ++i) s += c.w[i] * ref_focal(xs[i], c.y[i], alpha, gamma);
          return s;
        };
        const std::string what = str("gamma ", gamma, " alpha ", alpha, " n ", n);
        EXPECT_NEAR(total, sum(to_double(c.x)), 1e-11 * std::max(1.0, total)) << what;
        if (n > 100) continue;  // finite differences are O(n²); the small cases cover them
        auto g = numeric_grad(sum, to_double(c.x));
        for (size_t i = 0; i < n; ++i) g[i] = grad0[i] + scale * g[i];
        expect_close(grad, g, 1e-5, 1e-6, "focal grad " + what);
      }
    }
  }
}

TEST(FocalLoss, ExtremeLogitsStayFiniteForSmallGamma) {
  // p_t → 1 (x → +∞ with y = 1, x → −∞ with y = 0) is where (1 − p_t)^(γ−1) would blow up for
  // γ < 1; x → ∓∞ on the wrong side gives a loss of ~|x|.
  const std::vector<float> xs = {-1e4f, -100.0f, -30.0f, -17.0f, -1e-3f, 0.0f,
                                 1e-3f, 17.0f,   30.0f,  100.0f, 1e4f};
  for (float gamma : {0.0f, 0.5f, 2.0f, 0.1f}) {
    for (float y : {0.0f, 1.0f}) {
      for (float x : xs) {
        FocalArgs a{&x, &y, nullptr, 1, 0.25f, gamma};
        float grad = 0.0f;
        const double loss = sigmoid_focal_loss(Device::CPU, a, &grad);
        const std::string what = str("x ", x, " y ", y, " gamma ", gamma);
        ASSERT_TRUE(std::isfinite(loss) && std::isfinite(grad)) << what;
        const double want = ref_focal(x, y, 0.25, gamma);
        EXPECT_NEAR(loss, want, 1e-12 * std::max(1.0, want)) << what;
        // Central differences of the reference, with a step scaled to |x| for the ±1e4 cases.
        const double h = 1e-6 * std::max(1.0, std::fabs(double(x)));
        const double fd =
            (ref_focal(x + h, y, 0.25, gamma) - ref_focal(x - h, y, 0.25, gamma)) / (2 * h);
        EXPECT_NEAR(grad, fd, 1e-6 + 1e-5 * std::fabs(fd)) << what;
      }
    }
  }
}

TEST(FocalLoss, SameBitsForAnyThreadCount) {
  Case c = random_case(10000, 99);
  FocalArgs a{c.x.data(), c.y.data(), c.w.data(), 10000, 0.25f, 0.5f};
  auto run = [&](int threads, std::vector<float>& g) {
    set_num_threads(threads);
    g.assign(c.x.size(), 0.0f);
    return sigmoid_focal_loss(Device::CPU, a, g.data());
  };
  const int saved = num_threads();
  std::vector<float> g1, g2;
  const double l1 = run(1, g1), l2 = run(2, g2);
  set_num_threads(saved);
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(g1, g2);
}

TEST(FocalLoss, WeightsMaskAndNaNIsAnErrorNamingTheValue) {
  std::vector<float> x = {1.0f, -2.0f, 0.5f}, y = {1.0f, 0.0f, 1.0f}, w = {1.0f, 0.0f, 2.0f};
  FocalArgs a{x.data(), y.data(), w.data(), 3, 0.25f, 2.0f};
  std::vector<float> g(3, 0.0f);
  const double total = sigmoid_focal_loss(Device::CPU, a, g.data());
  EXPECT_NEAR(total, ref_focal(1, 1, 0.25, 2) + 2 * ref_focal(0.5, 1, 0.25, 2), 1e-12);
  EXPECT_EQ(g[1], 0.0f);  // weight 0: no gradient either

  x[2] = NAN;
  try {
    sigmoid_focal_loss(Device::CPU, a, g.data());
    ADD_FAILURE() << "no error for a NaN logit";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("sigmoid_focal_loss"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nan"), std::string::npos) << msg;
    EXPECT_NE(msg.find("element 2"), std::string::npos) << msg;
  }
  x[2] = 0.5f;
  y[0] = 1.5f;
  EXPECT_THROW(sigmoid_focal_loss(Device::CPU, a), Error);  // target outside [0, 1]
  y[0] = 1.0f;
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(sigmoid_focal_loss(Device::CUDA, a), Error);
  }
}

}  // namespace
}  // namespace seqmend
