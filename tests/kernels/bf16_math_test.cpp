// bf16 precision in the ops that have it: casts, and GEMMs on bf16-rounded inputs with f32 sums.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/cast.h"
#include "kernels/matmul.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::random_floats;

std::vector<double> rounded(const std::vector<float>& x) {
  std::vector<double> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = to_float(to_bf16(x[i]));
  return r;
}

TEST(Bf16Math, CastsRoundOnceAndAddWidened) {
  const auto x = random_floats(1001, 4, -50.0f, 50.0f);
  std::vector<bf16> h(x.size());
  cast_to_bf16(Device::CPU, h.data(), x.data(), int64_t(x.size()));
  std::vector<float> back(x.size()), acc(x.size(), 1.5f);
  cast_to_f32(Device::CPU, back.data(), h.data(), int64_t(x.size()));
  add_bf16(Device::CPU, acc.data(), h.data(), int64_t(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(h[i].bits, to_bf16(x[i]).bits) << i;
    EXPECT_EQ(back[i], to_float(to_bf16(x[i]))) << i;
    EXPECT_LE(std::fabs(back[i] - x[i]), std::ldexp(std::fabs(x[i]), -8)) << i;  // half an ulp of 7 bits
    EXPECT_EQ(acc[i], 1.5f + back[i]) << i;
  }
}

TEST(Bf16Math, MatmulMultipliesTheRoundedInputsExactlyAndSumsInF32) {
  const int N = 37, C = 64, OC = 24;
  const auto inp = random_floats(size_t(N) * C, 1), w = random_floats(size_t(OC) * C, 2),
             b = random_floats(size_t(OC), 3), dout = random_floats(size_t(N) * OC, 5);
  const auto ri = rounded(inp), rw = rounded(w), rd = rounded(dout);

  std::vector<float> out(size_t(N) * OC), out32(size_t(N) * OC);
  matmul_forward(Device::CPU, out.data(), inp.data(), w.data(), b.data(), N, C, OC, MatmulPrecision::bf16);
  matmul_forward(Device::CPU, out32.data(), inp.data(), w.data(), b.data(), N, C, OC);
  std::vector<double> ref(size_t(N) * OC);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < OC; ++o) {
      double s = b[size_t(o)];
      for (int c = 0; c < C; ++c) s += ri[size_t(n * C + c)] * rw[size_t(o * C + c)];
      ref[size_t(n * OC + o)] = s;
    }
  expect_close(out, ref, 1e-5, 1e-5 * C, "bf16 matmul forward");
  double diff = 0.0;  // the rounding must show: bf16 and f32 results differ
  for (size_t i = 0; i < out.size(); ++i) diff = std::max(diff, double(std::fabs(out[i] - out32[i])));
  EXPECT_GT(diff, 1e-4);

  std::vector<float> dinp(size_t(N) * C, 0.25f), dw(size_t(OC) * C, -0.5f), db(size_t(OC), 0.125f);
  std::vector<float> db32 = db;
  matmul_backward(Device::CPU, dinp.data(), dw.data(), db.data(), dout.data(), inp.data(), w.data(), N, C,
                  OC, MatmulPrecision::bf16);
  matmul_backward(Device::CPU, nullptr, nullptr, db32.data(), dout.data(), inp.data(), w.data(), N, C, OC);
  std::vector<double> rdi(size_t(N) * C, 0.25), rdw(size_t(OC) * C, -0.5);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < OC; ++o)
      for (int c = 0; c < C; ++c) {
        rdi[size_t(n * C + c)] += rd[size_t(n * OC + o)] * rw[size_t(o * C + c)];
        rdw[size_t(o * C + c)] += rd[size_t(n * OC + o)] * ri[size_t(n * C + c)];
      }
  expect_close(dinp, rdi, 1e-5, 1e-5 * OC, "bf16 matmul dinp (accumulated)");
  expect_close(dw, rdw, 1e-5, 1e-5 * N, "bf16 matmul dweight (accumulated)");
  EXPECT_EQ(db, db32);  // the bias gradient sums dout itself: no rounding
}

}  // namespace
}  // namespace seqmend
