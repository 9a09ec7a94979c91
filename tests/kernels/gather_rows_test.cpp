#include "kernels/gather_rows.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/error.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::random_floats;

TEST(GatherRows, CopiesTheListedRowsAndScatterIsItsAdjoint) {
  const int64_t N = 9, R = 4;
  const int C = 5;
  const std::vector<int64_t> rows = {7, 0, 3, 8};
  const auto x = random_floats(size_t(N * C), 1);
  std::vector<float> g(size_t(R * C));
  gather_rows(Device::CPU, g.data(), x.data(), rows.data(), R, C, N);
  for (int64_t r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) EXPECT_EQ(g[size_t(r * C + c)], x[size_t(rows[size_t(r)] * C + c)]);

  // The gradient of gather is scatter: <gather(x), y> = <x, scatter(y)> for every x and y, and the
  // rows scatter does not write keep their values.
  const auto y = random_floats(size_t(R * C), 2);
  std::vector<float> s(size_t(N * C), -7.0f);
  scatter_rows(Device::CPU, s.data(), y.data(), rows.data(), R, C, N);
  double lhs = 0.0, rhs = 0.0;
  for (size_t i = 0; i < g.size(); ++i) lhs += double(g[i]) * y[i];
  for (int64_t n = 0; n < N; ++n) {
    const bool listed = n == 7 || n == 0 || n == 3 || n == 8;
    for (int c = 0; c < C; ++c) {
      const float v = s[size_t(n * C + c)];
      if (listed)
        rhs += double(x[size_t(n * C + c)]) * v;
      else
        EXPECT_EQ(v, -7.0f) << "row " << n << " was not listed";
    }
  }
  EXPECT_NEAR(lhs, rhs, 1e-9 * (1.0 + std::abs(lhs)));
}

TEST(GatherRows, RowOutsideTheBatchIsAnError) {
  const std::vector<float> x(12, 1.0f);
  std::vector<float> out(8);
  const std::vector<int64_t> rows = {1, 3};
  try {
    gather_rows(Device::CPU, out.data(), x.data(), rows.data(), 2, 4, 3);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1 asks for token 3 of a batch with N=3"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(scatter_rows(Device::CPU, out.data(), x.data(), rows.data(), 2, 4, 3), Error);
}

}  // namespace
}  // namespace seqmend
