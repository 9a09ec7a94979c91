// GPU-against-CPU comparisons shared by the CUDA model and detector tests: a tensor's values on the
// host, and a per-parameter relative comparison that names the worst element.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/param_buffer.h"

namespace seqmend::test {

inline std::vector<float> host(const Tensor& t) {
  const Tensor h = t.to(Device::CPU);
  const float* p = h.data<float>();
  return std::vector<float>(p, p + h.numel());
}

// Worst |got − want| / max(|want|, mean |want|) per parameter entry of `pb`'s layout, reported with
// its name; a NaN counts as the worst.
inline void expect_params_close(const ParamBuffer& pb, const std::vector<float>& got, const std::vector<float>& want,
                                double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const ParamEntry& e : pb.entries()) {
    double mean_abs = 0.0;
    for (int64_t j = 0; j < e.numel; ++j) mean_abs += std::fabs(want[size_t(e.offset + j)]);
    mean_abs /= double(e.numel);
    double worst = 0.0;
    int64_t at = 0;
    for (int64_t j = 0; j < e.numel; ++j) {
      const size_t k = size_t(e.offset + j);
      const double ref = std::max<double>(std::fabs(want[k]), mean_abs);
      const double err = std::fabs(double(got[k]) - double(want[k])) / (ref > 0 ? ref : 1.0);
      if (!(err <= worst)) worst = std::isnan(err) ? INFINITY : err, at = j;
    }
    EXPECT_LE(worst, tol) << what << " " << e.name << "[" << at << "]: cuda " << got[size_t(e.offset + at)]
                          << " cpu " << want[size_t(e.offset + at)];
  }
}

}  // namespace seqmend::test
