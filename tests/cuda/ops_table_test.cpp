// One table of every op on every backend. Each row runs an op on fresh random inputs on the CPU and,
// where a GPU is present, on CUDA, and compares every output with the CPU twin:
//   relative error |cuda − cpu| <= 1e-5 · max(|cpu|, mean |cpu|) per element (f32);
//   outputs are poisoned with NaN first, so an element the kernel never wrote fails;
//   gradients start from random values, so a kernel that overwrites instead of accumulating fails;
//   the CUDA run is repeated and must give the same bits (every CUDA op is deterministic).
// Without a GPU only the CPU side runs (which still proves the poisoning and the harness), and the
// test skips with the reason. Adding an op = adding a row in make_table() (ops_table_rows.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "kernels/attention.h"
#include "kernels/device.h"
#include "ops_table.h"

namespace seqmend::ops_table {
namespace {

struct Ran {
  std::vector<Mem::Result> results;
  std::vector<std::pair<std::string, double>> scalars;
};

Ran run_row(const Row& r, Device dev) {
  Mem m(dev, 0xC0FFEE);
  r.run(m);
  Ran out;
  out.results = m.fetch();
  out.scalars = m.scalars();
  return out;
}

class OpsTable : public ::testing::TestWithParam<Row> {};

TEST_P(OpsTable, CudaMatchesCpu) {
  const Row& row = GetParam();
  const Ran cpu = run_row(row, Device::CPU);
  // The CPU twin must write every poisoned element (else the comparison below would compare NaNs).
  for (const auto& r : cpu.results)
    for (int64_t i = 0; i < r.n; ++i)
      ASSERT_TRUE(std::isfinite(r.host[size_t(i)])) << row.name << ": cpu " << r.name << "[" << i << "]";
  if (!cuda_compiled()) GTEST_SKIP() << "this build has no CUDA backend: CPU side only";
  if (cuda_device_count() == 0)
    GTEST_SKIP() << "no usable GPU (no driver or no device): CPU side only, CUDA twin not exercised";
  std::string why;
  if (row.needs_cudnn && !cudnn_attention_available(&why))
    GTEST_SKIP() << "cuDNN attention backend unavailable (" << why << "): CPU side only";
  const Ran gpu = run_row(row, Device::CUDA);
  const Ran gpu2 = run_row(row, Device::CUDA);
  ASSERT_EQ(gpu.results.size(), cpu.results.size());
  for (size_t k = 0; k < cpu.results.size(); ++k) {
    const auto& a = gpu.results[k].host;
    const auto& b = cpu.results[k].host;
    const std::string& name = cpu.results[k].name;
    double mean_abs = 0.0;
    for (float x : b) mean_abs += std::fabs(x);
    mean_abs /= double(std::max<size_t>(1, b.size()));
    double worst = 0.0;
    int64_t worst_i = -1;
    for (size_t i = 0; i < b.size(); ++i) {
      const double ref = std::max<double>(std::fabs(b[i]), mean_abs);
      const double err = std::fabs(double(a[i]) - double(b[i])) / (ref > 0 ? ref : 1.0);
      if (!(err <= worst)) {  // NaN counts as the worst
        worst = std::isnan(err) ? INFINITY : err;
        worst_i = int64_t(i);
      }
    }
    if (row.norm_tol > 0) {
      double diff2 = 0.0, ref2 = 0.0;
      for (size_t i = 0; i < b.size(); ++i) {
        diff2 += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
        ref2 += double(b[i]) * double(b[i]);
      }
      const double rel = std::sqrt(diff2 / std::max(ref2, 1e-300));
      std::printf("%s: %s relative L2 %.3g (bound %.3g), worst element %.3g (bound %.3g)\n", row.name.c_str(),
                  name.c_str(), rel, row.norm_tol, worst, row.tol);
      EXPECT_LE(rel, row.norm_tol) << row.name << ": " << name << " relative L2 error";
    }
    EXPECT_LE(worst, row.tol) << row.name << ": " << name << "[" << worst_i << "] cuda "
                              << (worst_i >= 0 ? a[size_t(worst_i)] : 0.0f) << " cpu "
                              << (worst_i >= 0 ? b[size_t(worst_i)] : 0.0f);
    EXPECT_EQ(0, std::memcmp(a.data(), gpu2.results[k].host.data(), a.size() * sizeof(float)))
        << row.name << ": " << name << " differs between two CUDA runs";
  }
  ASSERT_EQ(gpu.scalars.size(), cpu.scalars.size());
  for (size_t k = 0; k < cpu.scalars.size(); ++k) {
    const double a = gpu.scalars[k].second, b = cpu.scalars[k].second;
    EXPECT_LE(std::fabs(a - b), row.tol * std::max(1e-30, std::fabs(b)))
        << row.name << ": " << cpu.scalars[k].first << " cuda " << a << " cpu " << b;
    EXPECT_EQ(a, gpu2.scalars[k].second) << row.name << ": " << cpu.scalars[k].first
                                         << " differs between two CUDA runs";
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, OpsTable, ::testing::ValuesIn(make_table()),
                         [](const ::testing::TestParamInfo<Row>& info) {
                           std::string n = info.param.name;  // test names: letters, digits, _
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace seqmend::ops_table
