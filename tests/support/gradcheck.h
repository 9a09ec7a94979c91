// Finite-difference gradient checking against double-precision references.
//
// Each op test writes its op once more in double (the reference), differentiates that reference by
// central differences (exact to ~1e-9 in double), and compares the f32 kernel's backward with it.
// The f32 forward is compared with the double reference forward too.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/base/rng.h"

namespace seqmend::test {

// ∂f/∂x_i for every i (or the first `limit` indices spread over x when limit > 0), central differences.
inline std::vector<double> numeric_grad(const std::function<double(const std::vector<double>&)>& f,
                                        std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = x[i];
    x[i] = keep + h;
    double up = f(x);
    x[i] = keep - h;
    double down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

// Fails with the worst element when |a − b| > atol + rtol · |b| anywhere; returns the max rel error.
template <typename A, typename B>
double expect_close(const A& actual, const B& expected, double rtol, double atol, const std::string& what) {
  EXPECT_EQ(actual.size(), expected.size()) << what;
  double worst = 0, worst_excess = 0;
  size_t at = 0;
  for (size_t i = 0; i < std::min(actual.size(), expected.size()); ++i) {
    double a = double(actual[i]), b = double(expected[i]);
    double err = std::fabs(a - b);
    double excess = err - (atol + rtol * std::fabs(b));
    if (!std::isfinite(a)) excess = INFINITY;
    if (excess > worst_excess) { worst_excess = excess; at = i; }
    worst = std::max(worst, err / (std::fabs(b) + atol));
  }
  if (worst_excess > 0)
    ADD_FAILURE() << what << ": element " << at << " is " << double(actual[at]) << ", expected "
                  << double(expected[at]) << " (rtol " << rtol << ", atol " << atol << ")";
  return worst;
}

inline std::vector<float> random_floats(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * r.uniform();
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }
inline std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

}  // namespace seqmend::test
