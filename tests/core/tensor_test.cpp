#include <gtest/gtest.h>

#include "core/tensor.h"

namespace seqmend {

TEST(Tensor, ViewsShareStorageAndCheckBounds) {
  Tensor flat = Tensor::zeros({10});
  Tensor a = Tensor::view_of(flat, 2, {2, 3});
  a.data<float>()[0] = 5.0f;
  EXPECT_EQ(flat.data<float>()[2], 5.0f);
  EXPECT_EQ(a.rows(1, 2).data<float>() - flat.data<float>(), 5);
  EXPECT_THROW(Tensor::view_of(flat, 8, {2, 3}), Error);
  EXPECT_THROW(a.data<int32_t>(), Error);
}

TEST(Tensor, ReshapeInfersOneDimension) {
  Tensor t = Tensor::empty({4, 6}, DType::I64);
  EXPECT_EQ(t.reshape({-1, 3}).shape(), (Shape{8, 3}));
  EXPECT_THROW(t.reshape({5, -1}), Error);
  EXPECT_EQ(t.nbytes(), 4u * 6u * 8u);
}

TEST(Tensor, ShapeErrorsNameTheOpAndTensor) {
  Tensor t = Tensor::empty({2, 3});
  try {
    t.expect_shape("layernorm_forward", "inp", {2, 4});
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("layernorm_forward: inp has shape [2, 3], expected [2, 4]"), std::string::npos) << m;
  }
}

}  // namespace seqmend
