#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/base/error.h"
#include "kernels/threads.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::numeric_grad;
using test::random_floats;
using test::to_double;

// out (N, OC) = inp (N, C) · weight (OC, C)ᵀ + bias, in double.
std::vector<double> ref_matmul(const std::vector<double>& inp, const std::vector<double>& w,
                               const std::vector<double>* bias, int N, int C, int OC) {
  std::vector<double> out(size_t(N) * OC);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < OC; ++o) {
      double s = bias ? (*bias)[o] : 0.0;
      for (int c = 0; c < C; ++c) s += inp[n * C + c] * w[o * C + c];
      out[n * OC + o] = s;
    }
  return out;
}

struct Shape {
  int N, C, OC;
};

TEST(Matmul, ForwardMatchesDoubleReference) {
  for (Shape s : {Shape{1, 1, 1}, Shape{7, 5, 3}, Shape{33, 64, 17}, Shape{130, 64, 192},
                  Shape{19, 256, 64}}) {
    for (bool with_bias : {false, true}) {
      auto inp = random_floats(size_t(s.N) * s.C, 1);
      auto w = random_floats(size_t(s.OC) * s.C, 2);
      auto b = random_floats(size_t(s.OC), 3);
      std::vector<float> out(size_t(s.N) * s.OC, 123.0f);  // garbage: forward must overwrite
      matmul_forward(Device::CPU, out.data(), inp.data(), w.data(), with_bias ? b.data() : nullptr,
                     s.N, s.C, s.OC);
      auto bd = to_double(b);
      auto ref =
          ref_matmul(to_double(inp), to_double(w), with_bias ? &bd : nullptr, s.N, s.C, s.OC);
      expect_close(out, ref, 1e-5, 1e-5 * s.C, str("matmul forward ", s.N, "x", s.C, "x", s.OC));
    }
  }
}

TEST(Matmul, BackwardMatchesFiniteDifferencesAndAccumulates) {
  for (Shape s : {Shape{5, 7, 3}, Shape{4, 16, 9}, Shape{1, 3, 1}}) {
    const int N = s.N, C = s.C, OC = s.OC;
    auto inp = random_floats(size_t(N) * C, 10);
    auto w = random_floats(size_t(OC) * C, 11);
    auto b = random_floats(size_t(OC), 12);
    auto dout = random_floats(size_t(N) * OC, 13);
    // Gradients start non-zero: backward must add to them.
    auto dinp = random_floats(inp.size(), 14), dw = random_floats(w.size(), 15),
         db = random_floats(b.size(), 16);
    const auto dinp0 = dinp, dw0 = dw, db0 = db;
    matmul_backward(Device::CPU, dinp.data(), dw.data(), db.data(), dout.data(), inp.data(),
                    w.data(), N, C, OC);

    const auto xd = to_double(inp), wd = to_double(w), bd = to_double(b), gd = to_double(dout);
    auto loss = [&](const std::vector<double>& x, const std::vector<double>& ww,
                    const std::vector<double>& bb) {
      auto out = ref_matmul(x, ww, &bb, N, C, OC);
      double l = 0;
      for (size_t i = 0; i < out.size(); ++i) l += out[i] * gd[i];
      return l;
    };
    auto gx = numeric_grad([&](const std::vector<double>& x) { return loss(x, wd, bd); }, xd);
    auto gw = numeric_grad([&](const std::vector<double>& ww) { return loss(xd, ww, bd); }, wd);
    auto gb = numeric_grad([&](const std::vector<double>& bb) { return loss(xd, wd, bb); }, bd);
    for (size_t i = 0; i < gx.size(); ++i) gx[i] += dinp0[i];
    for (size_t i = 0; i < gw.size(); ++i) gw[i] += dw0[i];
    for (size_t i = 0; i < gb.size(); ++i) gb[i] += db0[i];
    expect_close(dinp, gx, 1e-4, 1e-5, "matmul dinp");
    expect_close(dw, gw, 1e-4, 1e-5, "matmul dweight");
    expect_close(db, gb, 1e-4, 1e-5, "matmul dbias");
  }
}

TEST(Matmul, LongSumsOverRowsAreAccurateAndNullGradientsAreSkipped) {
  const int N = 5000, C = 8, OC = 70;  // N spans several row chunks, the last one partial
  auto inp = random_floats(size_t(N) * C, 20);
  auto w = random_floats(size_t(OC) * C, 21);
  auto dout = random_floats(size_t(N) * OC, 22);
  std::vector<float> db(OC, 0.5f), dw(w.size(), -0.25f);
  matmul_backward(Device::CPU, nullptr, nullptr, db.data(), dout.data(), inp.data(), w.data(), N, C,
                  OC);
  matmul_backward(Device::CPU, nullptr, dw.data(), nullptr, dout.data(), inp.data(), w.data(), N, C,
                  OC);
  std::vector<double> ref_b(OC, 0.5), ref_w(w.size(), -0.25);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < OC; ++o) {
      ref_b[o] += dout[size_t(n) * OC + o];
      for (int c = 0; c < C; ++c)
        ref_w[o * C + c] += double(dout[size_t(n) * OC + o]) * inp[n * C + c];
    }
  expect_close(db, ref_b, 1e-5, 1e-4, "matmul dbias column sum");
  expect_close(dw, ref_w, 1e-5, 1e-4, "matmul dweight over many rows");
}

TEST(Matmul, SameBitsForAnyThreadCount) {
  const int N = 5000, C = 64, OC = 72;  // several row blocks and row chunks, the last ones partial
  auto inp = random_floats(size_t(N) * C, 30), w = random_floats(size_t(OC) * C, 31),
       b = random_floats(size_t(OC), 32), dout = random_floats(size_t(N) * OC, 33);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> out(size_t(N) * OC), dinp(inp.size()), dw(w.size()), db(b.size());
    matmul_forward(Device::CPU, out.data(), inp.data(), w.data(), b.data(), N, C, OC);
    matmul_backward(Device::CPU, dinp.data(), dw.data(), db.data(), dout.data(), inp.data(),
                    w.data(), N, C, OC);
    out.insert(out.end(), dinp.begin(), dinp.end());
    out.insert(out.end(), dw.begin(), dw.end());
    out.insert(out.end(), db.begin(), db.end());
    return out;
  };
  const int saved = num_threads();
  auto one = run(1), two = run(2), three = run(3);
  set_num_threads(saved);
  const size_t parts[] = {size_t(N) * OC, inp.size(), w.size(), b.size()};
  const char* names[] = {"out", "dinp", "dweight", "dbias"};
  size_t at = 0;
  for (int k = 0; k < 4; ++k) {
    for (const auto* other : {&two, &three}) {
      EXPECT_TRUE(std::equal(one.begin() + at, one.begin() + at + parts[k], other->begin() + at))
          << names[k];
    }
    at += parts[k];
  }
}

TEST(Matmul, CudaIsAnErrorNamingTheOpUntilItsTwinExists) {
  float x = 0;
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    try {
      matmul_forward(Device::CUDA, &x, &x, &x, nullptr, 1, 1, 1);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("matmul_forward"), std::string::npos) << e.what();
    }
  }
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(matmul_backward(Device::CUDA, &x, &x, &x, &x, &x, &x, 1, 1, 1), Error);
  }
  EXPECT_THROW(matmul_forward(Device::CPU, &x, &x, &x, nullptr, 1, 0, 1), Error);  // bad shape
}

}  // namespace
}  // namespace seqmend
