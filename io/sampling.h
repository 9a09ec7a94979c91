// Distributions drawn from the counter RNG (core/base/rng.h) for the simulator and the injectors.
// Every function consumes a fixed or data-dependent number of draws from the Rng it is given, so a
// caller that derives one Rng per (seed, user) gets results independent of thread count and order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/base/error.h"
#include "core/base/rng.h"

namespace seqmend {

// Standard normal by Box–Muller (two uniforms per draw; the second value is dropped on purpose so
// the draw count per call is constant).
inline double draw_normal(Rng& rng) {
  double u1 = rng.uniform_double(), u2 = rng.uniform_double();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Log-normal with the given median (= exp(mu)) and sigma of the underlying normal.
inline double draw_lognormal(Rng& rng, double median, double sigma) {
  return median * std::exp(sigma * draw_normal(rng));
}

// Gamma(shape, 1) by Marsaglia–Tsang; shapes below 1 use the boost Gamma(a+1)·U^(1/a).
inline double draw_gamma(Rng& rng, double shape) {
  if (shape < 1.0) {
    double u = rng.uniform_double();
    if (u < 1e-300) u = 1e-300;
    return draw_gamma(rng, shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = draw_normal(rng), v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double u = rng.uniform_double();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

// Poisson by inversion (small means only: the simulator uses it for counts of interests).
inline int64_t draw_poisson(Rng& rng, double mean) {
  double l = std::exp(-mean), p = 1.0;
  int64_t k = 0;
  for (;;) {
    p *= rng.uniform_double();
    if (p <= l || k > 10000) return k;
    ++k;
  }
}

// Number of Bernoulli(p) failures before the first success, p in (0, 1].
inline int64_t draw_geometric(Rng& rng, double p) {
  if (p >= 1.0) return 0;
  double u = rng.uniform_double();
  if (u < 1e-300) u = 1e-300;
  return int64_t(std::floor(std::log(u) / std::log1p(-p)));
}

// Draws index i with probability w[i] / Σw via the cumulative sums and a binary search: O(log n)
// per draw, which keeps memory flat (one double per outcome) for vocabularies of millions.
class DiscreteSampler {
 public:
  DiscreteSampler() = default;
  explicit DiscreteSampler(const std::vector<double>& weights) { reset(weights.data(), int64_t(weights.size())); }
  DiscreteSampler(const double* w, int64_t n) { reset(w, n); }

  void reset(const double* w, int64_t n) {
    cum_.resize(size_t(n));
    double s = 0;
    for (int64_t i = 0; i < n; ++i) {
      SEQ_CHECK(w[i] >= 0 && std::isfinite(w[i]), "DiscreteSampler: weight ", i, " is ", w[i]);
      s += w[i];
      cum_[size_t(i)] = s;
    }
    SEQ_CHECK(n == 0 || s > 0, "DiscreteSampler: all ", n, " weights are zero");
  }
  int64_t size() const { return int64_t(cum_.size()); }
  double total() const { return cum_.empty() ? 0.0 : cum_.back(); }

  int64_t draw(Rng& rng) const {
    double x = rng.uniform_double() * cum_.back();
    auto it = std::upper_bound(cum_.begin(), cum_.end(), x);
    int64_t i = int64_t(it - cum_.begin());
    return i < size() ? i : size() - 1;
  }

 private:
  std::vector<double> cum_;
};

}  // namespace seqmend
