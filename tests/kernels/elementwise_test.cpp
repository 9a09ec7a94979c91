#include "kernels/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/base/error.h"
#include "kernels/threads.h"
#include "support/gradcheck.h"

namespace seqmend {
namespace {

using test::expect_close;
using test::random_floats;

TEST(Elementwise, AddScaleFill) {
  for (int64_t n : {1, 17, 1000}) {
    auto a = random_floats(size_t(n), 1), b = random_floats(size_t(n), 2);
    auto out = a;
    add_inplace(Device::CPU, out.data(), b.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] + b[i]);
    scale_inplace(Device::CPU, out.data(), n, -0.5f);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], (a[i] + b[i]) * -0.5f);
    fill(Device::CPU, out.data(), n, 3.25f);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], 3.25f);
  }
}

TEST(Elementwise, SumSquaresInDoubleAndDeterministic) {
  const int64_t n = 300001;  // several chunks plus a partial one
  auto x = random_floats(size_t(n), 3, -10.0f, 10.0f);
  double ref = 0;
  for (float v : x) ref += double(v) * double(v);
  const int saved = num_threads();
  set_num_threads(1);
  const double one = sum_squares(Device::CPU, x.data(), n);
  set_num_threads(2);
  const double two = sum_squares(Device::CPU, x.data(), n);
  set_num_threads(saved);
  EXPECT_NEAR(one, ref, 1e-12 * ref);
  EXPECT_EQ(one, two);
  EXPECT_EQ(sum_squares(Device::CPU, x.data(), 0), 0.0);
}

TEST(Elementwise, ClipGlobalNormScalesLikePyTorch) {
  std::vector<float> x = {3.0f, 4.0f};  // norm 5
  EXPECT_DOUBLE_EQ(clip_global_norm(Device::CPU, x.data(), 2, 10.0), 5.0);
  EXPECT_EQ(x, (std::vector<float>{3.0f, 4.0f}));  // under the limit: untouched
  EXPECT_DOUBLE_EQ(clip_global_norm(Device::CPU, x.data(), 2, 0.0), 5.0);  // disabled
  EXPECT_EQ(x, (std::vector<float>{3.0f, 4.0f}));
  EXPECT_DOUBLE_EQ(clip_global_norm(Device::CPU, x.data(), 2, 1.0), 5.0);
  // torch.nn.utils.clip_grad_norm_: coefficient 1 / (5 + 1e-6).
  const double coef = 1.0 / (5.0 + 1e-6);
  expect_close(x, std::vector<double>{3.0 * coef, 4.0 * coef}, 1e-7, 0, "clipped");
  EXPECT_NEAR(std::sqrt(sum_squares(Device::CPU, x.data(), 2)), 1.0, 1e-6);
}

TEST(Elementwise, NonFiniteNormIsAnError) {
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> x(100, 1.0f);
    x[42] = bad;
    try {
      clip_global_norm(Device::CPU, x.data(), int64_t(x.size()), 1.0);
      ADD_FAILURE() << "no error for " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("clip_global_norm"), std::string::npos) << e.what();
    }
  }
  // Finite floats whose squares overflow float are still fine: the sum is in double.
  std::vector<float> big(4, 3e38f);
  EXPECT_NEAR(clip_global_norm(Device::CPU, big.data(), 4, 0.0), 6e38, 1e32);
}

TEST(Elementwise, CudaIsAnErrorUntilItsTwinExists) {
  float x = 0;
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(add_inplace(Device::CUDA, &x, &x, 1), Error);
  }
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(sum_squares(Device::CUDA, &x, 1), Error);
  }
  if (cuda_device_count() == 0) {  // with a GPU the CUDA twin runs instead of refusing
    EXPECT_THROW(clip_global_norm(Device::CUDA, &x, 1, 1.0), Error);
  }
}

}  // namespace
}  // namespace seqmend
