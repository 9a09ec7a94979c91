#include "kernels/adamw.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/base/error.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::random_floats;

const std::vector<float> kParam0 = {0.5f, -1.25f, 2.0f, 0.0f, 3e-3f, -0.75f, 1.5f};
const std::vector<std::vector<float>> kGrads = {{0.1f, -0.2f, 0.3f, -0.4f, 0.5f, 1e-4f, -2.0f},
                                                {0.05f, 0.2f, -0.3f, 0.0f, 0.25f, -1e-4f, -1.0f},
                                                {-0.3f, 0.1f, 0.0f, 0.4f, -0.5f, 2e-4f, 3.0f},
                                                {0.2f, -0.05f, 0.15f, -0.1f, 0.0f, 0.0f, 0.5f}};

struct TorchRun {
  AdamWArgs args;
  std::vector<std::vector<float>> params;  // after each step
  std::vector<float> m, v;                 // after the last step
};

// Produced offline with torch 1.13 (the version the PyTorch twin runs), float32:
//   p = nn.Parameter(tensor(kParam0)); opt = optim.AdamW([p], lr, betas, eps, weight_decay)
//   for g in kGrads: p.grad = tensor(g); opt.step(); print(p)   — then opt.state[p].
std::vector<TorchRun> torch_runs() {
  TorchRun a;
  a.args.lr = 1e-3, a.args.beta1 = 0.9, a.args.beta2 = 0.999, a.args.eps = 1e-8;
  a.args.weight_decay = 0.01;
  a.params = {{0.498995006f, -1.24898744f, 1.99897993f, 0.000999999931f, 0.00199997006f,
               -0.750992417f, 1.50098503f},
              {0.498057812f, -1.24902761f, 1.99901259f, 0.00167004822f, 0.00106777041f,
               -0.750932276f, 1.50190222f},
              {0.498400062f, -1.24926651f, 1.99903321f, 0.00158416375f, 0.000956976612f,
               -0.751423001f, 1.50180519f},
              {0.498328239f, -1.24936152f, 1.9988507f, 0.00161614595f, 0.000866220274f,
               -0.751823604f, 1.50164652f}};
  a.m = {0.00433999952f, 0.00561999856f,  0.0125700003f, -0.00316000031f,
         0.0116999997f,  1.71899992e-05f, 0.0931999981f};
  a.v = {0.000142375051f, 9.22901672e-05f, 0.000202050374f, 0.000329360482f,
         0.000561375869f, 5.99100422e-11f, 0.0142270122f};
  TorchRun b;
  b.args.lr = 0.1, b.args.beta1 = 0.8, b.args.beta2 = 0.99, b.args.eps = 1e-6;
  b.args.weight_decay = 0.1;
  b.params = {{0.395000994f, -1.13750041f, 1.88000035f, 0.0999997631f, -0.0970297977f,
               -0.841509938f, 1.58499992f},
              {0.299559444f, -1.13723648f, 1.87231135f, 0.162012011f, -0.187552005f, -0.822093725f,
               1.66064262f},
              {0.339851379f, -1.15715015f, 1.86163962f, 0.142322093f, -0.187569425f, -0.866689384f,
               1.6266135f},
              {0.328723639f, -1.15801239f, 1.82615983f, 0.139102235f, -0.187142715f, -0.898407638f,
               1.58815122f}};
  b.m = {0.00863999687f, 0.0111199999f,   0.0223200023f, 0.00303999986f,
         0.00320000644f, 2.94399997e-05f, 0.247199982f};
  b.v = {0.00141253253f, 0.000904159679f, 0.0019803592f, 0.00323647889f,
         0.00551330997f, 5.91039884e-10f, 0.140212953f};
  return {a, b};
}

TEST(AdamW, MatchesTorchOptimAdamWStepByStep) {
  for (const TorchRun& run : torch_runs()) {
    std::vector<float> p = kParam0, m(p.size(), 0.0f), v(p.size(), 0.0f);
    AdamWArgs a = run.args;
    for (size_t s = 0; s < kGrads.size(); ++s) {
      a.step = int64_t(s) + 1;
      adamw_update(Device::CPU, p.data(), kGrads[s].data(), m.data(), v.data(), int64_t(p.size()),
                   a);
      // A few ulps: the same f32 operations in the same order, up to fused multiply-adds.
      expect_close(p, run.params[s], 4e-7, 1e-9, str("param after step ", s + 1, " lr ", a.lr));
    }
    // m cancels (gradients of both signs), so its bound is absolute at the gradients' scale.
    expect_close(m, run.m, 4e-7, 1e-8, "exp_avg");
    expect_close(v, run.v, 4e-7, 1e-12, "exp_avg_sq");
  }
}

TEST(AdamW, MatchesHandDerivedDoubleReferenceOnLongVectors) {
  const int64_t n = 1037;  // vector body plus a tail
  AdamWArgs a;
  a.lr = 3e-3, a.beta1 = 0.9, a.beta2 = 0.98, a.eps = 1e-8, a.weight_decay = 0.05;
  auto p = random_floats(size_t(n), 1);
  std::vector<float> m(p.size(), 0.0f), v(p.size(), 0.0f);
  std::vector<double> pd(p.begin(), p.end()), md(p.size(), 0.0), vd(p.size(), 0.0);
  for (int64_t t = 1; t <= 10; ++t) {
    auto g = random_floats(size_t(n), 100 + t, -0.5f, 0.5f);
    a.step = t;
    adamw_update(Device::CPU, p.data(), g.data(), m.data(), v.data(), n, a);
    const double bc1 = 1 - std::pow(a.beta1, double(t)), bc2 = 1 - std::pow(a.beta2, double(t));
    for (int64_t i = 0; i < n; ++i) {
      pd[i] *= 1 - a.lr * a.weight_decay;
      md[i] = a.beta1 * md[i] + (1 - a.beta1) * g[i];
      vd[i] = a.beta2 * vd[i] + (1 - a.beta2) * double(g[i]) * g[i];
      pd[i] -= a.lr / bc1 * md[i] / (std::sqrt(vd[i] / bc2) + a.eps);
    }
  }
  expect_close(p, pd, 1e-5, 1e-6, "adamw param after 10 steps");
  expect_close(m, md, 1e-5, 1e-7, "adamw m");
  expect_close(v, vd, 1e-5, 1e-9, "adamw v");
}

TEST(AdamW, RejectsBadArgumentsAndCuda) {
  float x = 1, g = 1, m = 0, v = 0;
  AdamWArgs a;
  a.step = 0;
  EXPECT_THROW(adamw_update(Device::CPU, &x, &g, &m, &v, 1, a), Error);
  a.step = 1;
  a.beta2 = 1.0;
  EXPECT_THROW(adamw_update(Device::CPU, &x, &g, &m, &v, 1, a), Error);
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(adamw_update(Device::CUDA, &x, &g, &m, &v, 1, AdamWArgs{}), Error);
  }
}

}  // namespace
}  // namespace seqmend
