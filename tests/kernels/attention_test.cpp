// attention_forward / attention_backward (CPU, packed) against a plain double-precision reference
// that works the other way round: padded (B, T, 3C) tensors, an explicit (T × T) mask per sequence
// built from the lengths and the causal flag, one head at a time. The same dropout keep mask is
// applied through dropout_keep, so p > 0 is checked exactly, not statistically.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "kernels/attention.h"
#include "kernels/gemm.h"
#include "kernels/threads.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::numeric_grad;
using test::random_floats;

struct Case {
  std::vector<int64_t> lens;
  int NH = 2;
  int HS = 4;
  bool causal = false;
  float p = 0.0f;
  float scale = 0.0f;
  uint64_t seed = 1;

  int C() const { return NH * HS; }
  int B() const { return int(lens.size()); }
  std::vector<int64_t> cu() const {
    std::vector<int64_t> cu(lens.size() + 1, 0);
    for (size_t b = 0; b < lens.size(); ++b) cu[b + 1] = cu[b] + lens[b];
    return cu;
  }
  int64_t N() const { return cu().back(); }
  int64_t T() const {
    int64_t t = 0;
    for (auto l : lens) t = std::max(t, l);
    return t;
  }
  DropoutSpec drop() const { return {p, seed * 7919 + 3}; }
  std::vector<uint64_t> keys() const {
    Rng r(seed, 99);
    std::vector<uint64_t> k(static_cast<size_t>(N()));
    for (auto& x : k) x = r.next_u64();
    return k;
  }
};

struct RefOut {
  std::vector<double> out;  // (N, C) packed
  std::vector<double> lse;  // (N, NH)
};

// The reference: unpack to padded tensors, mask explicitly, softmax per (b, h, row), pack back.
RefOut reference(const Case& c, const std::vector<double>& qkv) {
  const int B = c.B(), NH = c.NH, HS = c.HS, C = c.C();
  const int64_t T = c.T(), N = c.N();
  const auto cu = c.cu();
  const auto keys = c.keys();
  const DropoutSpec drop = c.drop();
  const double scale = c.scale != 0.0f ? double(c.scale) : 1.0 / std::sqrt(double(HS));
  // padded (B, T, 3C), zero on padding
  std::vector<double> pad(size_t(B * T * 3 * C), 0.0);
  for (int b = 0; b < B; ++b)
    for (int64_t t = 0; t < c.lens[b]; ++t)
      for (int k = 0; k < 3 * C; ++k) pad[(b * T + t) * 3 * C + k] = qkv[(cu[b] + t) * 3 * C + k];
  RefOut r{std::vector<double>(size_t(N * C), 0.0), std::vector<double>(size_t(N * NH), 0.0)};
  for (int b = 0; b < B; ++b) {
    // mask[i][j]: query i may attend key j
    std::vector<char> mask(size_t(T * T));
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j)
        mask[i * T + j] = i < c.lens[b] && j < c.lens[b] && (!c.causal || j <= i);
    for (int h = 0; h < NH; ++h) {
      for (int64_t i = 0; i < c.lens[b]; ++i) {
        std::vector<double> s(size_t(T), -INFINITY);
        double mx = -INFINITY;
        for (int64_t j = 0; j < T; ++j) {
          if (!mask[i * T + j]) continue;
          double dot = 0;
          for (int d = 0; d < HS; ++d)
            dot += pad[(b * T + i) * 3 * C + h * HS + d] * pad[(b * T + j) * 3 * C + C + h * HS + d];
          s[j] = scale * dot;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < T; ++j) sum += mask[i * T + j] ? std::exp(s[j] - mx) : 0.0;
        r.lse[(cu[b] + i) * NH + h] = mx + std::log(sum);
        for (int64_t j = 0; j < T; ++j) {
          if (!mask[i * T + j]) continue;
          double pr = std::exp(s[j] - mx) / sum;
          if (drop.p > 0)
            pr *= dropout_keep(drop, keys[cu[b] + i], uint64_t(h) * (1u << 20) + uint64_t(j))
                      ? 1.0 / (1.0 - double(drop.p))
                      : 0.0;
          for (int d = 0; d < HS; ++d)
            r.out[(cu[b] + i) * C + h * HS + d] += pr * pad[(b * T + j) * 3 * C + 2 * C + h * HS + d];
        }
      }
    }
  }
  return r;
}

AttentionShape shape_of(const Case& c, const std::vector<int64_t>& cu) {
  AttentionShape s;
  s.B = c.B();
  s.NH = c.NH;
  s.HS = c.HS;
  s.causal = c.causal;
  s.cu_seqlens = cu.data();
  s.scale = c.scale;
  return s;
}

struct Result {
  std::vector<float> out, lse, dqkv;
};

// f32 forward, then backward of Σ out ∘ w (so dout = w) accumulated onto dqkv_init.
Result run_kernels(const Case& c, const std::vector<float>& qkv, const std::vector<float>& w,
                float dqkv_init = 0.0f) {
  const auto cu = c.cu();
  const auto keys = c.keys();
  const AttentionShape s = shape_of(c, cu);
  Result r{std::vector<float>(size_t(c.N() * c.C())), std::vector<float>(size_t(c.N() * c.NH)),
        std::vector<float>(qkv.size(), dqkv_init)};
  attention_forward(Device::CPU, r.out.data(), r.lse.data(), qkv.data(), s, c.drop(), keys.data());
  attention_backward(Device::CPU, r.dqkv.data(), w.data(), qkv.data(), r.out.data(), r.lse.data(), s,
                     c.drop(), keys.data());
  return r;
}

void check_forward(const Case& c, const std::string& what) {
  auto qkv = random_floats(size_t(c.N() * 3 * c.C()), c.seed, -1.5f, 1.5f);
  auto w = random_floats(size_t(c.N() * c.C()), c.seed + 1);
  Result got = run_kernels(c, qkv, w);
  RefOut ref = reference(c, test::to_double(qkv));
  expect_close(got.out, ref.out, 1e-4, 2e-5, what + " out");
  expect_close(got.lse, ref.lse, 1e-5, 1e-5, what + " lse");
}

void check_backward(const Case& c, const std::string& what) {
  auto qkv = random_floats(size_t(c.N() * 3 * c.C()), c.seed, -1.5f, 1.5f);
  auto w = random_floats(size_t(c.N() * c.C()), c.seed + 1);
  const auto wd = test::to_double(w);
  auto loss = [&](const std::vector<double>& x) {
    RefOut r = reference(c, x);
    double l = 0;
    for (size_t i = 0; i < r.out.size(); ++i) l += r.out[i] * wd[i];
    return l;
  };
  const auto fd = numeric_grad(loss, test::to_double(qkv));
  Result got = run_kernels(c, qkv, w);
  expect_close(got.dqkv, fd, 2e-3, 2e-4, what + " dqkv");
  // Backward accumulates: starting from 0.5 everywhere gives 0.5 + the same gradient.
  Result acc = run_kernels(c, qkv, w, 0.5f);
  std::vector<double> shifted(fd.size());
  for (size_t i = 0; i < fd.size(); ++i) shifted[i] = fd[i] + 0.5;
  expect_close(acc.dqkv, shifted, 2e-3, 2e-4, what + " dqkv accumulated");
}

TEST(Attention, ForwardMatchesPaddedReference) {
  const std::vector<int64_t> lens = {7, 0, 1, 13, 2, 31, 0, 5, 24};
  for (bool causal : {false, true})
    for (float p : {0.0f, 0.2f})
      for (int hs : {4, 16}) {
        Case c{lens, 3, hs, causal, p, 0.0f, 17};
        check_forward(c, str("causal=", causal, " p=", p, " HS=", hs));
      }
}

TEST(Attention, ForwardRandomLengthsAndExplicitScale) {
  Rng r(5);
  for (int trial = 0; trial < 4; ++trial) {
    std::vector<int64_t> lens(1 + r.below(7));
    for (auto& l : lens) l = int64_t(r.below(40));
    Case c{lens, 2, 8, trial % 2 == 1, trial >= 2 ? 0.2f : 0.0f, 0.3f, 100 + uint64_t(trial)};
    check_forward(c, str("trial ", trial));
  }
}

TEST(Attention, BackwardMatchesFiniteDifferences) {
  const std::vector<int64_t> lens = {3, 0, 1, 6, 5};
  for (bool causal : {false, true})
    for (float p : {0.0f, 0.2f}) {
      Case c{lens, 2, 4, causal, p, 0.0f, 23};
      check_backward(c, str("causal=", causal, " p=", p));
    }
}

TEST(Attention, DropoutActuallyDropsAndScales) {
  // The keep mask is shared with dropout_keep: with p = 0.2 the output must differ from p = 0,
  // and p = 1 drops every probability, leaving an all-zero output and zero q/k/v gradients.
  Case c{{9, 12}, 2, 4, false, 0.0f, 0.0f, 31};
  auto qkv = random_floats(size_t(c.N() * 3 * c.C()), 3);
  auto w = random_floats(size_t(c.N() * c.C()), 4);
  Result none = run_kernels(c, qkv, w);
  c.p = 0.2f;
  Result some = run_kernels(c, qkv, w);
  double diff = 0;
  for (size_t i = 0; i < none.out.size(); ++i) diff = std::max(diff, double(std::fabs(none.out[i] - some.out[i])));
  EXPECT_GT(diff, 1e-3);
  expect_close(some.lse, none.lse, 0, 0, "lse does not depend on dropout");
  c.p = 1.0f;
  Result all = run_kernels(c, qkv, w);
  for (float x : all.out) ASSERT_EQ(x, 0.0f);
  for (float x : all.dqkv) ASSERT_EQ(x, 0.0f);
}

TEST(Attention, EmptySequencesWriteNothingAndNeverNaN) {
  for (bool causal : {false, true}) {
    Case c{{0, 0, 0}, 2, 4, causal, 0.2f, 0.0f, 1};
    const auto cu = c.cu();
    const AttentionShape s = shape_of(c, cu);
    std::vector<float> sentinel(8, 42.0f);
    auto out = sentinel, lse = sentinel, dqkv = sentinel;
    attention_forward(Device::CPU, out.data(), lse.data(), nullptr, s, c.drop(), nullptr);
    attention_backward(Device::CPU, dqkv.data(), nullptr, nullptr, out.data(), lse.data(), s, c.drop(),
                       nullptr);
    EXPECT_EQ(out, sentinel);
    EXPECT_EQ(lse, sentinel);
    EXPECT_EQ(dqkv, sentinel);
  }
  // Length 1 next to empty ones: the single token attends to itself only, so out = v exactly.
  Case c{{0, 1, 0}, 2, 4, false, 0.0f, 0.0f, 2};
  auto qkv = random_floats(size_t(3 * c.C()), 9);
  auto w = random_floats(size_t(c.C()), 10);
  Result r = run_kernels(c, qkv, w);
  for (int k = 0; k < c.C(); ++k) EXPECT_FLOAT_EQ(r.out[k], qkv[2 * c.C() + k]);
  for (float x : r.lse) EXPECT_TRUE(std::isfinite(x));
  for (float x : r.dqkv) EXPECT_TRUE(std::isfinite(x));
}

TEST(Attention, SameResultsWithOneAndTwoThreads) {
  Rng r(77);
  std::vector<int64_t> lens(48);
  for (auto& l : lens) l = int64_t(r.below(140));
  Case c{lens, 2, 32, false, 0.2f, 0.0f, 41};
  auto qkv = random_floats(size_t(c.N() * 3 * c.C()), 5);
  auto w = random_floats(size_t(c.N() * c.C()), 6);
  const int saved = num_threads();
  set_num_threads(1);
  Result one = run_kernels(c, qkv, w);
  set_num_threads(2);
  Result two = run_kernels(c, qkv, w);
  set_num_threads(saved);
  EXPECT_EQ(0, std::memcmp(one.out.data(), two.out.data(), one.out.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(one.lse.data(), two.lse.data(), one.lse.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(one.dqkv.data(), two.dqkv.data(), one.dqkv.size() * sizeof(float)));
  // and the threaded result is still the right one
  RefOut ref = reference(c, test::to_double(qkv));
  expect_close(two.out, ref.out, 1e-4, 2e-5, "2 threads out");
}

// The bf16 op: per tile, Q Kᵀ and dO Vᵀ as native bf16 products where the CPU has them, the rest
// in f32 on widened tiles. It is the f32 op on the widened inputs with each output rounded once (up
// to summation order: one bf16 rounding step at most), the same bits at 1 and 2 threads, and the
// same within that on the emulated path.
struct Bf16Result {
  std::vector<bf16> out, dqkv;
  std::vector<float> lse;
};

Bf16Result run_bf16(const Case& c, const std::vector<bf16>& qkv, const std::vector<bf16>& dout,
                    const std::vector<bf16>& dqkv_init) {
  const auto cu = c.cu();
  const auto keys = c.keys();
  const AttentionShape s = shape_of(c, cu);
  Bf16Result r{std::vector<bf16>(size_t(c.N() * c.C())), dqkv_init, std::vector<float>(size_t(c.N() * c.NH))};
  attention_forward(Device::CPU, r.out.data(), r.lse.data(), qkv.data(), s, c.drop(), keys.data());
  attention_backward(Device::CPU, r.dqkv.data(), dout.data(), qkv.data(), r.out.data(), r.lse.data(), s,
                     c.drop(), keys.data());
  return r;
}

std::vector<float> widen(const std::vector<bf16>& x) {
  std::vector<float> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = to_float(x[i]);
  return r;
}

std::vector<bf16> rounded(const std::vector<float>& x) {
  std::vector<bf16> r(x.size());
  for (size_t i = 0; i < x.size(); ++i) r[i] = to_bf16(x[i]);
  return r;
}

// |got − want| within one bf16 step of max(|want|, the tensor's mean |want|): an element that
// cancels to far below its tensor's scale (dqkv) keeps the rounding error of the terms it sums,
// which one step of its own size does not cover (seen on the emulated path of a non-native build).
void expect_bf16_close(const std::vector<bf16>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double mean_abs = 0.0;
  for (float w : want) mean_abs += std::fabs(w);
  mean_abs /= double(std::max<size_t>(1, want.size()));
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float tol = std::ldexp(std::max(std::fabs(want[i]), float(mean_abs)), -7) + 1e-6f;
    if (!(std::fabs(to_float(got[i]) - want[i]) <= tol) && bad++ < 5)
      ADD_FAILURE() << what << "[" << i << "] = " << to_float(got[i]) << ", want " << want[i];
  }
  EXPECT_EQ(bad, 0u) << what;
}

TEST(Attention, Bf16IsTheF32OpOnWidenedInputsRoundedOnce) {
  Rng r(78);
  std::vector<int64_t> lens(24);
  for (auto& l : lens) l = int64_t(r.below(90));
  lens[3] = 0;
  for (bool causal : {false, true}) {
    Case c{lens, 2, 32, causal, causal ? 0.0f : 0.15f, 0.0f, 43};
    const auto qkv16 = rounded(random_floats(size_t(c.N() * 3 * c.C()), 7, -1.5f, 1.5f));
    const auto dout16 = rounded(random_floats(size_t(c.N() * c.C()), 8));
    const auto init16 = rounded(random_floats(qkv16.size(), 9, -0.5f, 0.5f));
    const std::string what = causal ? "causal" : "dropout";

    Result want{std::vector<float>(size_t(c.N() * c.C())), std::vector<float>(size_t(c.N() * c.NH)), widen(init16)};
    {
      const auto cu = c.cu();
      const auto keys = c.keys();
      const AttentionShape s = shape_of(c, cu);
      const auto qkv = widen(qkv16), dout = widen(dout16);
      attention_forward(Device::CPU, want.out.data(), want.lse.data(), qkv.data(), s, c.drop(), keys.data());
      // backward from the bf16 output the op saves, as the bf16 op's backward reads it
      const auto out_saved = widen(rounded(want.out));
      attention_backward(Device::CPU, want.dqkv.data(), dout.data(), qkv.data(), out_saved.data(),
                         want.lse.data(), s, c.drop(), keys.data());
    }
    const int saved = num_threads();
    set_num_threads(1);
    const Bf16Result one = run_bf16(c, qkv16, dout16, init16);
    set_num_threads(2);
    const Bf16Result two = run_bf16(c, qkv16, dout16, init16);
    set_num_threads(saved);
    expect_bf16_close(two.out, want.out, what + " out");
    expect_close(two.lse, test::to_double(want.lse), 1e-5, 1e-5, what + " lse");
    expect_bf16_close(two.dqkv, want.dqkv, what + " dqkv");
    EXPECT_EQ(0, std::memcmp(one.out.data(), two.out.data(), one.out.size() * sizeof(bf16))) << what;
    EXPECT_EQ(one.lse, two.lse) << what;
    EXPECT_EQ(0, std::memcmp(one.dqkv.data(), two.dqkv.data(), one.dqkv.size() * sizeof(bf16))) << what;

    const GemmPath path = gemm_path();  // openblas: products emulated on widened tiles
    set_gemm_path(GemmPath::openblas);
    const Bf16Result emulated = run_bf16(c, qkv16, dout16, init16);
    set_gemm_path(path);
    expect_bf16_close(emulated.out, want.out, what + " emulated out");
    expect_bf16_close(emulated.dqkv, want.dqkv, what + " emulated dqkv");
  }
}

TEST(Attention, RejectsBadInput) {
  Case c{{3, 2}, 2, 4, false, 0.0f, 0.0f, 1};
  auto cu = c.cu();
  AttentionShape s = shape_of(c, cu);
  std::vector<float> buf(1024);
  auto keys = c.keys();
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(attention_forward(Device::CUDA, buf.data(), buf.data(), buf.data(), s, {}, keys.data()),
                 Error);
  }
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(attention_backward(Device::CUDA, buf.data(), buf.data(), buf.data(), buf.data(),
                                    buf.data(), s, {}, keys.data()),
                 Error);
  }
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    try {
      attention_forward(Device::CUDA, buf.data(), buf.data(), buf.data(), s, {}, keys.data());
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("attention_forward"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
    }
  }
  std::vector<int64_t> bad = {0, 3, 1};  // decreasing
  s.cu_seqlens = bad.data();
  EXPECT_THROW(attention_forward(Device::CPU, buf.data(), buf.data(), buf.data(), s, {}, keys.data()),
               Error);
  s.cu_seqlens = cu.data();
  EXPECT_THROW(attention_forward(Device::CPU, buf.data(), buf.data(), buf.data(), s, {1.5f, 0}, keys.data()),
               Error);
  EXPECT_THROW(attention_forward(Device::CPU, buf.data(), buf.data(), buf.data(), s, {0.1f, 0}, nullptr),
               Error);
}

}  // namespace
}  // namespace seqmend
