// softmax_xent (CPU, chunked) against a plain double reference: the loss directly, the gradients by
// central differences of that reference, every chunking of the rows, and the error cases.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "kernels/bf16.h"
#include "kernels/gemm.h"
#include "kernels/softmax_xent.h"
#include "kernels/threads.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::random_floats;

struct Problem {
  int64_t M;
  int C;
  int64_t V;
  int64_t first = 1;
  int64_t extra_rows = 2;  // table rows past the vocabulary, which must get no gradient
  std::vector<float> hidden, table, bias;
  std::vector<int32_t> targets;

  int64_t rows() const { return first + V + extra_rows; }

  Problem(int64_t M_, int C_, int64_t V_, uint64_t seed) : M(M_), C(C_), V(V_) {
    hidden = random_floats(size_t(M * C), seed, -1.0f, 1.0f);
    table = random_floats(size_t(rows() * C), seed + 1, -1.0f, 1.0f);
    bias = random_floats(size_t(rows()), seed + 2, -0.5f, 0.5f);
    Rng r(seed, 3);
    targets.resize(size_t(M));
    for (auto& t : targets) t = int32_t(first + int64_t(r.below(uint64_t(V))));
  }

  XentArgs args(int64_t chunk_rows) const {
    XentArgs a;
    a.hidden = hidden.data();
    a.table = table.data();
    a.bias = bias.data();
    a.targets = targets.data();
    a.M = M;
    a.C = C;
    a.V = V;
    a.first = first;
    a.chunk_rows = chunk_rows;
    return a;
  }

  // x = [hidden | table | bias] in double, the layout the finite differences perturb.
  std::vector<double> packed() const {
    std::vector<double> x;
    x.insert(x.end(), hidden.begin(), hidden.end());
    x.insert(x.end(), table.begin(), table.end());
    x.insert(x.end(), bias.begin(), bias.end());
    return x;
  }

  double reference_loss(const std::vector<double>& x) const {
    const double* h = x.data();
    const double* t = h + M * C;
    const double* b = t + rows() * C;
    double total = 0;
    for (int64_t m = 0; m < M; ++m) {
      std::vector<double> logit(static_cast<size_t>(V));
      double mx = -INFINITY;
      for (int64_t v = 0; v < V; ++v) {
        double s = b[first + v];
        for (int c = 0; c < C; ++c) s += h[m * C + c] * t[(first + v) * C + c];
        logit[v] = s;
        mx = std::max(mx, s);
      }
      double sum = 0;
      for (double s : logit) sum += std::exp(s - mx);
      total += mx + std::log(sum) - logit[targets[m] - first];
    }
    return total;
  }
};

struct Grads {
  std::vector<float> dhidden, dtable, dbias;
  explicit Grads(const Problem& p, float init = 0.0f)
      : dhidden(size_t(p.M * p.C), init), dtable(size_t(p.rows() * p.C), init), dbias(size_t(p.rows()), init) {}
  XentGrads view(float scale) { return {dhidden.data(), dtable.data(), dbias.data(), scale}; }
};

TEST(SoftmaxXent, LossMatchesDoubleReference) {
  for (int64_t chunk : {1, 7, 64, 256}) {
    Problem p(37, 16, 500, 11);
    const double got = softmax_xent(Device::CPU, p.args(chunk));
    const double want = p.reference_loss(p.packed());
    EXPECT_NEAR(got, want, 1e-5 * std::fabs(want)) << "chunk_rows " << chunk;
  }
}

// A million-item vocabulary with peaked rows (logits spread ~4): the softmax denominator adds a
// million terms, most far below the largest. An error in it is an absolute error in the loss (the
// log of the sum), so the loss bound is absolute: 3e-5 per row. One float accumulator per lane
// over the whole row drifted 8e-5 per row here (the GPU's tree sum exposed it); blocks of 8192
// summed in float stay within ~1e-6 when vectorised and ~9e-6 in a scalar (sanitizer) build.
TEST(SoftmaxXent, MillionItemVocabularyMatchesDoubleReference) {
  Problem p(6, 32, 1000000, 31);
  for (float& h : p.hidden) h *= 2.0f;
  Grads g(p);
  const double got = softmax_xent(Device::CPU, p.args(64), g.view(1.0f));
  // The reference in double; dhidden = Σ_v softmax_v · table_v − table_target sums a million terms
  // with cancellation, dbias is the softmax itself.
  double want = 0.0;
  std::vector<double> dh(size_t(p.M * p.C), 0.0), db(size_t(p.rows()), 0.0);
  for (int64_t m = 0; m < p.M; ++m) {
    std::vector<double> logit(static_cast<size_t>(p.V));
    double mx = -INFINITY, sum = 0.0;
    for (int64_t v = 0; v < p.V; ++v) {
      double x = p.bias[size_t(p.first + v)];
      for (int c = 0; c < p.C; ++c) x += double(p.hidden[size_t(m * p.C + c)]) * p.table[size_t((p.first + v) * p.C + c)];
      logit[size_t(v)] = x;
      mx = std::max(mx, x);
    }
    for (double x : logit) sum += std::exp(x - mx);
    want += mx + std::log(sum) - logit[size_t(p.targets[size_t(m)] - p.first)];
    for (int64_t v = 0; v < p.V; ++v) {
      const double d = std::exp(logit[size_t(v)] - mx) / sum - (p.first + v == p.targets[size_t(m)] ? 1.0 : 0.0);
      db[size_t(p.first + v)] += d;
      for (int c = 0; c < p.C; ++c) dh[size_t(m * p.C + c)] += d * p.table[size_t((p.first + v) * p.C + c)];
    }
  }
  EXPECT_NEAR(got, want, 3e-5 * double(p.M)) << "loss per row " << want / double(p.M);
  auto mean_abs = [](const std::vector<double>& x) {
    double s = 0.0;
    for (double v : x) s += std::fabs(v);
    return s / double(x.size());
  };
  expect_close(g.dhidden, dh, 3e-5, 3e-5 * mean_abs(dh), "dhidden");
  expect_close(g.dbias, db, 3e-5, 3e-5 * mean_abs(db), "dbias");
}

TEST(SoftmaxXent, GradientsMatchFiniteDifferencesForEveryChunking) {
  Problem p(5, 4, 7, 21);
  const auto fd = test::numeric_grad([&](const std::vector<double>& x) { return p.reference_loss(x); },
                                     p.packed());
  const float scale = 0.37f;
  const double init = 0.25;
  std::vector<double> want_h, want_t, want_b;  // init + scale · ∂loss
  for (int64_t i = 0; i < int64_t(fd.size()); ++i) {
    const double g = init + scale * fd[i];
    if (i < p.M * p.C) want_h.push_back(g);
    else if (i < p.M * p.C + p.rows() * p.C) want_t.push_back(g);
    else want_b.push_back(g);
  }
  // rows outside [first, first + V) get exactly nothing
  for (int c = 0; c < p.C; ++c) EXPECT_EQ(want_t[c], init);
  for (int64_t chunk : {1, 2, 3, 5, 256}) {  // M = 5: multiples, non-multiples, single chunk
    Grads g(p, float(init));
    const double loss = softmax_xent(Device::CPU, p.args(chunk), g.view(scale));
    EXPECT_NEAR(loss, p.reference_loss(p.packed()), 1e-5);
    const std::string what = str("chunk_rows=", chunk);
    expect_close(g.dhidden, want_h, 1e-4, 1e-5, what + " dhidden");
    expect_close(g.dtable, want_t, 1e-4, 1e-5, what + " dtable");
    expect_close(g.dbias, want_b, 1e-4, 1e-5, what + " dbias");
  }
}

TEST(SoftmaxXent, LargerProblemGradientAgainstDoubleOnSampledEntries) {
  // A vocabulary large enough for several column blocks and several chunks; the FD check runs
  // on a sample of parameters (the reference is costly at this size).
  Problem p(23, 8, 1300, 31);
  Grads g(p);
  softmax_xent(Device::CPU, p.args(6), g.view(1.0f));
  const auto x0 = p.packed();
  Rng r(4);
  for (int k = 0; k < 24; ++k) {
    size_t i = size_t(r.below(x0.size()));
    if (k < 3) i = size_t(p.M * p.C + p.rows() * p.C + p.first + 1200 + k);  // dbias in the last block
    auto x = x0;
    const double h = 1e-6;
    x[i] += h;
    const double up = p.reference_loss(x);
    x[i] -= 2 * h;
    const double down = p.reference_loss(x);
    const double want = (up - down) / (2 * h);
    const size_t nh = size_t(p.M * p.C), nt = size_t(p.rows() * p.C);
    const float got = i < nh ? g.dhidden[i] : i < nh + nt ? g.dtable[i - nh] : g.dbias[i - nh - nt];
    EXPECT_NEAR(got, want, 1e-4 + 1e-3 * std::fabs(want)) << "parameter " << i;
  }
}

TEST(SoftmaxXent, NoGradientsWantedWritesNothing) {
  Problem p(9, 4, 30, 5);
  Grads g(p, 3.0f);
  XentGrads none;
  none.dtable = g.dtable.data();  // ignored: dhidden null means no gradient at all
  none.dbias = g.dbias.data();
  softmax_xent(Device::CPU, p.args(4), none);
  for (float x : g.dtable) ASSERT_EQ(x, 3.0f);
  for (float x : g.dbias) ASSERT_EQ(x, 3.0f);
  Problem empty(0, 4, 30, 5);
  EXPECT_EQ(softmax_xent(Device::CPU, empty.args(4)), 0.0);
}

TEST(SoftmaxXent, SameResultsWithOneAndTwoThreads) {
  Problem p(300, 32, 3000, 8);
  const int saved = num_threads();
  set_num_threads(1);
  Grads one(p);
  const double l1 = softmax_xent(Device::CPU, p.args(128), one.view(1.0f / 300));
  set_num_threads(2);
  Grads two(p);
  const double l2 = softmax_xent(Device::CPU, p.args(128), two.view(1.0f / 300));
  set_num_threads(saved);
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(0, std::memcmp(one.dhidden.data(), two.dhidden.data(), one.dhidden.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(one.dtable.data(), two.dtable.data(), one.dtable.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(one.dbias.data(), two.dbias.data(), one.dbias.size() * sizeof(float)));
}

// MatmulPrecision::bf16: the products take hidden, the table and the logits' gradient rounded to
// bf16 (f32 sums); the softmax, the loss and dbias stay f32. Held against a double reference of that
// contract, at 1 and 2 threads (same bits), native and emulated.
TEST(SoftmaxXent, Bf16ProductsMatchTheRoundedReference) {
  Problem p(70, 16, 500, 9);
  const float scale = 1.0f / 70;
  auto r16 = [](double x) { return double(to_float(to_bf16(float(x)))); };
  const int64_t M = p.M, V = p.V, C = p.C;
  std::vector<double> dh(size_t(M * C), 0.0), dt(p.table.size(), 0.0), db(p.bias.size(), 0.0);
  double loss = 0;
  for (int64_t m = 0; m < M; ++m) {
    std::vector<double> logit(static_cast<size_t>(V));
    double mx = -INFINITY;
    for (int64_t v = 0; v < V; ++v) {
      double s = p.bias[size_t(p.first + v)];
      for (int64_t c = 0; c < C; ++c) s += r16(p.hidden[size_t(m * C + c)]) * r16(p.table[size_t((p.first + v) * C + c)]);
      logit[size_t(v)] = s;
      mx = std::max(mx, s);
    }
    double sum = 0;
    for (double x : logit) sum += std::exp(x - mx);
    const int64_t t = p.targets[size_t(m)] - p.first;
    loss += mx + std::log(sum) - logit[size_t(t)];
    for (int64_t v = 0; v < V; ++v) {
      const double g = (std::exp(logit[size_t(v)] - mx) / sum - (v == t ? 1.0 : 0.0)) * scale;
      db[size_t(p.first + v)] += g;
      const double gr = r16(g);
      for (int64_t c = 0; c < C; ++c) {
        dh[size_t(m * C + c)] += gr * r16(p.table[size_t((p.first + v) * C + c)]);
        dt[size_t((p.first + v) * C + c)] += gr * r16(p.hidden[size_t(m * C + c)]);
      }
    }
  }
  XentArgs a = p.args(32);
  a.prec = MatmulPrecision::bf16;
  const int saved = num_threads();
  const GemmPath path = gemm_path();
  for (GemmPath gp : {GemmPath::onednn, GemmPath::openblas}) {  // openblas: the emulation
    if (!gemm_path_available(gp)) continue;
    set_gemm_path(gp);
    const std::string what = std::string("bf16 ") + (gemm_bf16_native() ? "native" : "emulated");
    set_num_threads(1);
    Grads one(p);
    const double l1 = softmax_xent(Device::CPU, a, one.view(scale));
    set_num_threads(2);
    Grads two(p);
    const double l2 = softmax_xent(Device::CPU, a, two.view(scale));
    EXPECT_EQ(l1, l2) << what;
    EXPECT_EQ(one.dhidden, two.dhidden) << what;
    EXPECT_EQ(one.dtable, two.dtable) << what;
    EXPECT_EQ(one.dbias, two.dbias) << what;
    EXPECT_NEAR(l2, loss, 1e-5 * loss) << what;
    // a gradient element rounded the other way at a tie changes a sum by 2^-9 of one term
    expect_close(two.dhidden, dh, 1e-4, 2e-5, what + " dhidden");
    expect_close(two.dtable, dt, 1e-4, 2e-5, what + " dtable");
    expect_close(two.dbias, db, 1e-5, 1e-7, what + " dbias (unrounded)");
  }
  set_gemm_path(path);
  set_num_threads(saved);
  // the rounding is really applied: f32 products differ
  Grads f(p);
  const double lf = softmax_xent(Device::CPU, p.args(32), f.view(scale));
  EXPECT_GT(std::fabs(lf - loss), 1e-6 * loss);
}

void expect_error_mentions(const std::function<void()>& f, const std::vector<std::string>& words) {
  try {
    f();
    ADD_FAILURE() << "expected a seqmend::Error";
  } catch (const Error& e) {
    for (const auto& w : words)
      EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << "'" << w << "' not in: " << e.what();
  }
}

TEST(SoftmaxXent, RejectsTargetsOutsideTheVocabulary) {
  Problem p(6, 4, 10, 2);
  p.targets[3] = 0;  // padding id, below first
  expect_error_mentions([&] { softmax_xent(Device::CPU, p.args(4)); }, {"softmax_xent", "row 3", "id 0"});
  p.targets[3] = int32_t(p.first + p.V);  // one past the last item
  expect_error_mentions([&] { softmax_xent(Device::CPU, p.args(4)); }, {"row 3", "id 11"});
}

TEST(SoftmaxXent, NonFiniteLossNamesTheRow) {
  Problem p(6, 4, 10, 2);
  p.hidden[4 * p.C + 1] = NAN;
  Grads g(p);
  expect_error_mentions([&] { softmax_xent(Device::CPU, p.args(4), g.view(1.0f)); },
                        {"softmax_xent", "row 4", "nan"});
  p.hidden[4 * p.C + 1] = 0.0f;
  p.hidden[5 * p.C] = INFINITY;
  expect_error_mentions([&] { softmax_xent(Device::CPU, p.args(2)); }, {"row 5"});
}

TEST(SoftmaxXent, RejectsBadShapesAndCuda) {
  Problem p(6, 4, 10, 2);
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    expect_error_mentions([&] { softmax_xent(Device::CUDA, p.args(4)); }, {"softmax_xent", "CUDA"});
  }
  expect_error_mentions([&] { softmax_xent(Device::CPU, p.args(0)); }, {"chunk_rows=0"});
  XentArgs a = p.args(4);
  a.V = 0;
  expect_error_mentions([&] { softmax_xent(Device::CPU, a); }, {"V=0"});
}

}  // namespace
}  // namespace seqmend
