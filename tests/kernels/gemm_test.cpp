#include "kernels/gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "core/base/error.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/threads.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::random_floats;

// Sets the path for one test and puts the process's path back afterwards.
class GemmPathTest : public ::testing::TestWithParam<GemmPath> {
 protected:
  void SetUp() override {
    if (!gemm_path_available(GetParam())) GTEST_SKIP() << gemm_path_name(GetParam()) << " is not built in";
    saved_ = gemm_path();
    set_gemm_path(GetParam());
  }
  void TearDown() override { set_gemm_path(saved_); }
  GemmPath saved_ = GemmPath::openblas;
};

// C (M, N) = alpha · op(A) · op(B) + beta · C, in double, row-major with leading dimensions.
std::vector<double> ref_gemm(bool ta, bool tb, int M, int N, int K, double alpha, const std::vector<float>& A, int lda,
                             const std::vector<float>& B, int ldb, double beta, const std::vector<float>& C, int ldc) {
  std::vector<double> out(C.begin(), C.end());
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double s = 0;
      for (int k = 0; k < K; ++k)
        s += double(ta ? A[size_t(k) * lda + m] : A[size_t(m) * lda + k]) *
             double(tb ? B[size_t(n) * ldb + k] : B[size_t(k) * ldb + n]);
      out[size_t(m) * ldc + n] = alpha * s + beta * double(C[size_t(m) * ldc + n]);
    }
  return out;
}

TEST_P(GemmPathTest, EveryTransposeMatchesADoubleReference) {
  struct Shape {
    int M, N, K;
  };
  uint64_t seed = 1;
  for (Shape s : {Shape{1, 1, 1}, Shape{7, 5, 3}, Shape{64, 64, 64}, Shape{200, 200, 32}, Shape{513, 72, 130},
                  Shape{3, 3706, 64}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        // Leading dimensions wider than the rows (as attention's strided q, k, v are).
        const int lda = (ta ? s.M : s.K) + 3, ldb = (tb ? s.K : s.N) + 5, ldc = s.N + 2;
        auto A = random_floats(size_t(ta ? s.K : s.M) * lda, seed++), B = random_floats(size_t(tb ? s.N : s.K) * ldb, seed++),
             C = random_floats(size_t(s.M) * ldc, seed++);
        auto want = ref_gemm(ta, tb, s.M, s.N, s.K, 0.75, A, lda, B, ldb, 0.5, C, ldc);
        gemm(ta, tb, s.M, s.N, s.K, 0.75f, A.data(), lda, B.data(), ldb, 0.5f, C.data(), ldc);
        expect_close(C, want, 1e-5, 2e-5 * s.K,
                     std::string(gemm_path_name(GetParam())) + (ta ? " T" : " N") + (tb ? "T" : "N") + " M=" +
                         std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K));
      }
}

// The kernels split their products into fixed blocks; each path must keep the bits independent of
// the team size (a path that threads inside a block's call would not).
TEST_P(GemmPathTest, KernelsGiveTheSameBitsForAnyThreadCount) {
  const int N = 5000, C = 64, OC = 72;
  auto inp = random_floats(size_t(N) * C, 30), w = random_floats(size_t(OC) * C, 31),
       b = random_floats(size_t(OC), 32), dout = random_floats(size_t(N) * OC, 33);
  // Attention over 12 sequences of 1..200 tokens.
  std::vector<int64_t> cu{0};
  for (int i = 0; i < 12; ++i) cu.push_back(cu.back() + 1 + (i * 37) % 200);
  AttentionShape as;
  as.B = 12;
  as.NH = 2;
  as.HS = 32;
  as.cu_seqlens = cu.data();
  const int64_t T = cu.back();
  auto qkv = random_floats(size_t(T) * 3 * as.NH * as.HS, 34);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> out(size_t(N) * OC), dinp(inp.size()), dw(w.size()), db(b.size());
    matmul_forward(Device::CPU, out.data(), inp.data(), w.data(), b.data(), N, C, OC);
    matmul_backward(Device::CPU, dinp.data(), dw.data(), db.data(), dout.data(), inp.data(), w.data(), N, C, OC);
    std::vector<float> att(size_t(T) * as.NH * as.HS), lse(size_t(T) * as.NH);
    attention_forward(Device::CPU, att.data(), lse.data(), qkv.data(), as, DropoutSpec{}, nullptr);
    for (const auto* part : {&dinp, &dw, &db, &att, &lse}) out.insert(out.end(), part->begin(), part->end());
    return out;
  };
  const int saved = num_threads();
  const auto one = run(1), two = run(2), three = run(3);
  set_num_threads(saved);
  EXPECT_TRUE(one == two) << gemm_path_name(GetParam()) << ": 1 vs 2 threads";
  EXPECT_TRUE(one == three) << gemm_path_name(GetParam()) << ": 1 vs 3 threads";
}

INSTANTIATE_TEST_SUITE_P(Paths, GemmPathTest, ::testing::Values(GemmPath::openblas, GemmPath::onednn),
                         [](const auto& info) { return std::string(gemm_path_name(info.param)); });

// Native bf16 products: the inputs rounded to bf16, multiplied exactly, summed in f32 — what the
// emulation computes, in another order.
TEST(Gemm, NativeBf16MatchesTheEmulation) {
  if (!gemm_path_available(GemmPath::onednn)) GTEST_SKIP() << "oneDNN is not built in";
  const GemmPath saved = gemm_path();
  set_gemm_path(GemmPath::onednn);
  if (!gemm_bf16_native()) {
    set_gemm_path(saved);
    GTEST_SKIP() << "this CPU (" << cpu_isa() << ") has no native bf16 products";
  }
  uint64_t seed = 50;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int M = 130, N = 72, K = 300, lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 3;
      auto A = random_floats(size_t(ta ? K : M) * lda, seed++), B = random_floats(size_t(tb ? N : K) * ldb, seed++),
           C = random_floats(size_t(M) * ldc, seed++);
      std::vector<bf16> a(A.size()), b(B.size());
      for (size_t i = 0; i < A.size(); ++i) A[i] = to_float(a[i] = to_bf16(A[i]));
      for (size_t i = 0; i < B.size(); ++i) B[i] = to_float(b[i] = to_bf16(B[i]));
      const auto want = ref_gemm(ta, tb, M, N, K, 1.0, A, lda, B, ldb, 1.0, C, ldc);
      gemm(ta, tb, M, N, K, 1.0f, a.data(), lda, b.data(), ldb, 1.0f, C.data(), ldc);
      expect_close(C, want, 1e-5, 2e-5 * K, std::string("bf16 ") + (ta ? "T" : "N") + (tb ? "T" : "N"));
    }
  // Through the layer, forward and backward, at 1 and 2 threads.
  const int N = 1500, C = 64, OC = 96;
  auto inp = random_floats(size_t(N) * C, 60), w = random_floats(size_t(OC) * C, 61), dout = random_floats(size_t(N) * OC, 62);
  auto layer = [&](GemmPath path, int threads) {
    set_gemm_path(path);
    set_num_threads(threads);
    std::vector<float> out(size_t(N) * OC), dinp(inp.size()), dw(w.size()), db(static_cast<size_t>(OC));
    matmul_forward(Device::CPU, out.data(), inp.data(), w.data(), nullptr, N, C, OC, MatmulPrecision::bf16);
    matmul_backward(Device::CPU, dinp.data(), dw.data(), db.data(), dout.data(), inp.data(), w.data(), N, C, OC,
                    MatmulPrecision::bf16);
    for (const auto* part : {&dinp, &dw, &db}) out.insert(out.end(), part->begin(), part->end());
    return out;
  };
  const int threads = num_threads();
  const auto native1 = layer(GemmPath::onednn, 1), native2 = layer(GemmPath::onednn, 2);
  const auto emulated = layer(GemmPath::openblas, 1);
  set_num_threads(threads);
  set_gemm_path(saved);
  EXPECT_TRUE(native1 == native2) << "native bf16: 1 vs 2 threads";
  expect_close(native1, std::vector<double>(emulated.begin(), emulated.end()), 1e-5, 1e-4,
               "native vs emulated bf16 layer");
}

TEST(Gemm, PathsAgreeOnTheLayers) {
  if (!gemm_path_available(GemmPath::onednn)) GTEST_SKIP() << "oneDNN is not built in";
  const GemmPath saved = gemm_path();
  const int N = 700, C = 64, OC = 256;
  auto inp = random_floats(size_t(N) * C, 40), w = random_floats(size_t(OC) * C, 41);
  std::vector<float> a(size_t(N) * OC), b(a.size());
  set_gemm_path(GemmPath::openblas);
  matmul_forward(Device::CPU, a.data(), inp.data(), w.data(), nullptr, N, C, OC);
  set_gemm_path(GemmPath::onednn);
  matmul_forward(Device::CPU, b.data(), inp.data(), w.data(), nullptr, N, C, OC);
  set_gemm_path(saved);
  expect_close(b, std::vector<double>(a.begin(), a.end()), 1e-5, 1e-4, "oneDNN vs OpenBLAS matmul");
}

TEST(Gemm, ReportsWhatItRunsOn) {
  EXPECT_FALSE(cpu_isa().empty());
  EXPECT_FALSE(blas_core().empty());
  const GemmPath saved = gemm_path();
  set_gemm_path(GemmPath::openblas);
  EXPECT_EQ(std::string(gemm_path_name(gemm_path())), "openblas");
  // The warning is about OpenBLAS's generic kernels only.
  const std::string core = blas_core();
  if (core != "Prescott" && core != "Core2" && core != "Nehalem" && core != "generic") {
    EXPECT_EQ(gemm_warning(), "");
  }
  set_gemm_path(saved);
  if (!gemm_path_available(GemmPath::onednn)) {
    EXPECT_THROW(set_gemm_path(GemmPath::onednn), Error);
  }
}

}  // namespace
}  // namespace seqmend
