#include "kernels/embedding.h"

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "kernels/threads.h"
#include "support/embedding_reference.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::numeric_grad;
using test::random_floats;
using test::to_double;

std::vector<int32_t> random_ids(int64_t N, int64_t V, uint64_t seed) {
  Rng r(seed);
  std::vector<int32_t> ids(static_cast<size_t>(N));
  for (auto& id : ids) id = int32_t(r.below(uint64_t(V)));
  return ids;
}

TEST(Embedding, ForwardGathersRowsAndAccumulates) {
  for (auto [N, C, V] : {std::tuple{1, 1, 1}, {9, 7, 4}, {100, 64, 30}, {33, 256, 1000}}) {
    auto table = random_floats(size_t(V) * C, 1);
    auto ids = random_ids(N, V, 2);
    auto base = random_floats(size_t(N) * C, 3);
    std::vector<float> out(base.size(), 7.0f), acc = base;
    embedding_forward(Device::CPU, out.data(), ids.data(), table.data(), N, C, V, false);
    embedding_forward(Device::CPU, acc.data(), ids.data(), table.data(), N, C, V, true);
    std::vector<double> ref(out.size()), ref_acc(out.size());
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < C; ++c) {
        ref[n * C + c] = table[size_t(ids[n]) * C + c];
        ref_acc[n * C + c] = double(base[n * C + c]) + ref[n * C + c];
      }
    expect_close(out, ref, 0, 0, "embedding gather");
    expect_close(acc, ref_acc, 1e-7, 1e-7, "embedding accumulate");
  }
}

TEST(Embedding, BackwardMatchesFiniteDifferencesWithRepeatedIds) {
  const int64_t N = 12, V = 5;
  for (int C : {1, 7, 40}) {
    auto table = random_floats(size_t(V) * C, 10);
    auto ids = random_ids(N, V, 11);
    ids[0] = ids[1] = ids[2] = 3;  // several rows into one table row
    auto dout = random_floats(size_t(N) * C, 12);
    auto dtable = random_floats(table.size(), 13);
    const auto dtable0 = dtable;
    embedding_backward(Device::CPU, dtable.data(), dout.data(), ids.data(), N, C, V);
    auto g = numeric_grad(
        [&](const std::vector<double>& t) {
          double l = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int c = 0; c < C; ++c) l += t[size_t(ids[n]) * C + c] * dout[n * C + c];
          return l;
        },
        to_double(table));
    for (size_t i = 0; i < g.size(); ++i) g[i] += dtable0[i];
    expect_close(dtable, g, 1e-5, 1e-6, str("embedding backward C=", C));
  }
}

TEST(Embedding, BackwardIsBitwiseTheSameForAnyThreadCount) {
  const int64_t N = 19200, V = 50;  // few rows, so each receives hundreds of additions
  for (int C : {64, 72, 256}) {
    auto ids = random_ids(N, V, 20);
    auto dout = random_floats(size_t(N) * C, 21);
    auto run = [&](int threads) {
      set_num_threads(threads);
      std::vector<float> dtable(size_t(V) * C, 0.0f);
      embedding_backward(Device::CPU, dtable.data(), dout.data(), ids.data(), N, C, V);
      return dtable;
    };
    const int saved = num_threads();
    auto one = run(1), two = run(2), five = run(5);
    set_num_threads(saved);
    EXPECT_EQ(one, two) << "C=" << C;
    EXPECT_EQ(one, five) << "C=" << C;
  }
}

// The order pinned in embedding.h, which the CUDA twin reproduces (tests/cuda/embedding_test.cpp):
// the same bits as the plain reference, for runs of one id far longer than a chunk (the mask token,
// action 0), runs split by chunk boundaries, and many short runs, at any thread count.
TEST(Embedding, BackwardSumsInTheChunkOrderBitForBit) {
  struct Case {
    int64_t N, V;
    int C;
    bool long_run;
  };
  for (auto [N, V, C, long_run] : {Case{1, 3, 5, false}, Case{127, 4, 7, false}, Case{129, 4, 1, false},
                                   Case{20000, 100002, 64, true}, Case{19200, 50, 72, false},
                                   Case{3000, 7, 33, true}}) {
    auto ids = random_ids(N, V, 40);
    if (long_run)  // every other row is id 3 (a run of N/2 rows), the rest random
      for (int64_t n = 0; n < N; n += 2) ids[size_t(n)] = 3;
    auto dout = random_floats(size_t(N) * C, 41);
    const auto start = random_floats(size_t(V) * C, 42);
    auto want = start;
    test_support::embedding_backward_reference(want.data(), dout.data(), ids.data(), N, C, V);
    const int saved = num_threads();
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      auto got = start;
      embedding_backward(Device::CPU, got.data(), dout.data(), ids.data(), N, C, V);
      EXPECT_EQ(got, want) << "N=" << N << " V=" << V << " C=" << C << " threads=" << threads;
    }
    set_num_threads(saved);
  }
}

TEST(Embedding, OutOfRangeIdIsAnErrorNamingOpRowAndId) {
  const int C = 4, V = 10;
  auto table = random_floats(V * C, 30);
  std::vector<float> out(5 * C);
  for (int32_t bad : {-1, 10, 1 << 30}) {
    std::vector<int32_t> ids = {0, 1, 9, bad, 2};
    try {
      embedding_forward(Device::CPU, out.data(), ids.data(), table.data(), 5, C, V, false,
                        "item_embedding");
      ADD_FAILURE() << "no error for id " << bad;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("item_embedding"), std::string::npos) << msg;
      EXPECT_NE(msg.find("row 3"), std::string::npos) << msg;
      EXPECT_NE(msg.find("id " + std::to_string(bad)), std::string::npos) << msg;
    }
    std::vector<float> dtable(V * C);
    EXPECT_THROW(embedding_backward(Device::CPU, dtable.data(), out.data(), ids.data(), 5, C, V),
                 Error);
  }
}

TEST(Embedding, CudaIsAnErrorUntilItsTwinExists) {
  float x = 0;
  int32_t id = 0;
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(embedding_forward(Device::CUDA, &x, &id, &x, 1, 1, 1, false), Error);
  }
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(embedding_backward(Device::CUDA, &x, &x, &id, 1, 1, 1), Error);
  }
}

}  // namespace
}  // namespace seqmend
