// bf16 precision in the ops that have it: casts, GEMMs on bf16-rounded inputs with f32 sums (on f32
// inputs and on inputs stored in bf16), LayerNorm and GELU writing bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/bf16.h"
#include "kernels/cast.h"
#include "kernels/gelu.h"
#include "kernels/gemm.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/threads.h"
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

std::vector<bf16> bf16_of(const std::vector<float>& x) {
  std::vector<bf16> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = to_bf16(x[i]);
  return r;
}

std::vector<uint16_t> bits_of(const std::vector<bf16>& x) {
  std::vector<uint16_t> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = x[i].bits;
  return r;
}

// The outputs of the stored-bf16 matmul overloads at one thread count.
struct StoredRun {
  std::vector<float> out, dinp, dw, db, dinp16, dw16, db16;
  std::vector<bf16> out16;
};

StoredRun run_stored(int N, int C, int OC, const std::vector<float>& b, const std::vector<float>& dout,
                     const std::vector<bf16>& x16, const std::vector<bf16>& w16, const std::vector<bf16>& d16) {
  StoredRun r{std::vector<float>(size_t(N) * OC), std::vector<float>(size_t(N) * C, 0.25f),
              std::vector<float>(size_t(OC) * C, -0.5f), std::vector<float>(size_t(OC), 0.125f), {}, {}, {},
              std::vector<bf16>(size_t(N) * OC)};
  r.dinp16 = r.dinp, r.dw16 = r.dw, r.db16 = r.db;
  matmul_forward(Device::CPU, r.out.data(), x16.data(), w16.data(), b.data(), N, C, OC, r.out16.data());
  matmul_backward(Device::CPU, r.dinp.data(), r.dw.data(), r.db.data(), dout.data(), x16.data(), w16.data(), N, C,
                  OC);
  matmul_backward(Device::CPU, r.dinp16.data(), r.dw16.data(), r.db16.data(), d16.data(), x16.data(),
                  w16.data(), N, C, OC);
  return r;
}

// Operands stored in bf16 give the products MatmulPrecision::bf16 makes of their f32 originals, bit
// for bit (the same rounded inputs through the same blocks), on the native path and the emulated one,
// and the same bits at 1 and 2 threads. N spans several row blocks and dweight chunks.
TEST(Bf16Math, MatmulOnStoredBf16IsMatmulBf16OfTheOriginals) {
  const int N = 2600, C = 48, OC = 40;
  const auto inp = random_floats(size_t(N) * C, 11), w = random_floats(size_t(OC) * C, 12),
             b = random_floats(size_t(OC), 13), dout = random_floats(size_t(N) * OC, 14);
  const auto x16 = bf16_of(inp), w16 = bf16_of(w), d16 = bf16_of(dout);
  std::vector<float> dround(dout.size());
  for (size_t i = 0; i < dout.size(); ++i) dround[i] = to_float(d16[i]);

  const GemmPath saved_path = gemm_path();
  const int saved_threads = num_threads();
  for (GemmPath path : {GemmPath::onednn, GemmPath::openblas}) {  // openblas: the emulation
    if (!gemm_path_available(path)) continue;
    set_gemm_path(path);
    const std::string what = std::string(gemm_path_name(path)) + (gemm_bf16_native() ? " native" : " emulated");
    set_num_threads(1);
    const StoredRun one = run_stored(N, C, OC, b, dout, x16, w16, d16);
    set_num_threads(2);
    const StoredRun r = run_stored(N, C, OC, b, dout, x16, w16, d16);

    std::vector<float> out(size_t(N) * OC), dinp(size_t(N) * C, 0.25f), dw(size_t(OC) * C, -0.5f),
        db(size_t(OC), 0.125f), db_rounded(size_t(OC), 0.125f);
    matmul_forward(Device::CPU, out.data(), inp.data(), w.data(), b.data(), N, C, OC, MatmulPrecision::bf16);
    matmul_backward(Device::CPU, dinp.data(), dw.data(), db.data(), dout.data(), inp.data(), w.data(), N, C, OC,
                    MatmulPrecision::bf16);
    matmul_backward(Device::CPU, nullptr, nullptr, db_rounded.data(), dround.data(), inp.data(), w.data(), N, C,
                    OC);
    EXPECT_EQ(r.out, out) << what;
    EXPECT_EQ(bits_of(r.out16), bits_of(bf16_of(out))) << what << ": out16 = out rounded once";
    EXPECT_EQ(r.dinp, dinp) << what;
    EXPECT_EQ(r.dw, dw) << what;
    EXPECT_EQ(r.db, db) << what << ": dbias of an f32 dout sums it unrounded";
    EXPECT_EQ(r.dinp16, dinp) << what << ": a bf16 dout is the f32 one rounded";
    EXPECT_EQ(r.dw16, dw) << what;
    EXPECT_EQ(r.db16, db_rounded) << what << ": dbias of a bf16 dout sums its widened values";

    EXPECT_EQ(one.out, r.out) << what << ": 1 vs 2 threads";
    EXPECT_EQ(one.dinp, r.dinp) << what;
    EXPECT_EQ(one.dw, r.dw) << what;
    EXPECT_EQ(one.db, r.db) << what;
    EXPECT_EQ(one.dw16, r.dw16) << what;
    EXPECT_EQ(one.db16, r.db16) << what;
  }
  set_num_threads(saved_threads);
  set_gemm_path(saved_path);
}

TEST(Bf16Math, LayernormAndGeluWriteTheF32ResultRoundedOnce) {
  const int64_t N = 300;
  const int C = 24;
  const auto x = random_floats(size_t(N) * C, 21, -3.0f, 3.0f), w = random_floats(size_t(C), 22),
             b = random_floats(size_t(C), 23);
  const size_t rows = static_cast<size_t>(N);
  std::vector<float> out(x.size()), mean(rows), rstd(rows), mean16(rows), rstd16(rows);
  std::vector<bf16> out16(x.size());
  layernorm_forward(Device::CPU, out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C, 1e-5f);
  layernorm_forward(Device::CPU, out16.data(), mean16.data(), rstd16.data(), x.data(), w.data(), b.data(), N, C,
                    1e-5f);
  EXPECT_EQ(bits_of(out16), bits_of(bf16_of(out)));
  EXPECT_EQ(mean16, mean);
  EXPECT_EQ(rstd16, rstd);

  std::vector<float> g(x.size());
  std::vector<bf16> g16(x.size());
  gelu_forward(Device::CPU, g.data(), x.data(), int64_t(x.size()));
  gelu_forward(Device::CPU, g16.data(), x.data(), int64_t(x.size()));
  EXPECT_EQ(bits_of(g16), bits_of(bf16_of(g)));
}

}  // namespace
}  // namespace seqmend
