#include <gtest/gtest.h>

#include <cmath>

#include "core/adamw_optimizer.h"
#include "core/model.h"
#include "core/param_buffer.h"

namespace seqmend {
namespace {

TEST(ParamBuffer, NamedViewsShareOneAlignedFlatBuffer) {
  ParamBuffer pb;
  pb.add("a", {3, 5}, ParamInit::Normal, true);
  pb.add("b", {7}, ParamInit::Zeros, false);
  pb.add("c", {2}, ParamInit::Ones, false);
  EXPECT_THROW(pb.add("a", {1}, ParamInit::Zeros, false), Error);
  pb.allocate();
  EXPECT_THROW(pb.add("d", {1}, ParamInit::Zeros, false), Error);
  EXPECT_EQ(pb.entry("b").offset, 16);
  EXPECT_EQ(pb.entry("c").offset, 32);
  EXPECT_EQ(pb.numel(), 48);
  pb.init(3, 0.5f);
  EXPECT_EQ(pb.param("a").shape(), (Shape{3, 5}));
  EXPECT_EQ(pb.param_ptr("b"), pb.params().data<float>() + 16);
  EXPECT_EQ(pb.grad_ptr("c"), pb.grads().data<float>() + 32);
  EXPECT_EQ(pb.param_ptr("b")[6], 0.0f);
  EXPECT_EQ(pb.param_ptr("c")[1], 1.0f);
  try {
    pb.param("missing");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"missing\""), std::string::npos);
  }
}

TEST(ParamBuffer, InitIsDeterministicSeededAndNormal) {
  auto make = [](uint64_t seed) {
    ParamBuffer pb;
    pb.add("w", {200, 100}, ParamInit::Normal, true);
    pb.allocate();
    pb.init(seed, 0.02f);
    return pb.param("w").clone();
  };
  Tensor a = make(1), b = make(1), c = make(2);
  const float *pa = a.data<float>(), *pb = b.data<float>(), *pc = c.data<float>();
  double s = 0, s2 = 0;
  int diff = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    EXPECT_EQ(pa[i], pb[i]);
    diff += pa[i] != pc[i];
    s += pa[i];
    s2 += double(pa[i]) * pa[i];
  }
  EXPECT_GT(diff, a.numel() * 99 / 100);
  const double n = double(a.numel()), mean = s / n, sd = std::sqrt(s2 / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.02 * 4 / std::sqrt(n));
  EXPECT_NEAR(sd, 0.02, 0.02 * 0.02);
}

TEST(ParamBuffer, ModelDecayGroupsExcludeBiasesAndLayerNorm) {
  ModelConfig cfg;
  cfg.num_items = 10;
  cfg.max_len = 5;
  cfg.d_model = 8;
  ItemTransformer m(cfg);
  int decayed = 0;
  for (const ParamEntry& e : m.params().entries()) {
    const bool bias_or_ln = e.name.find(".b") == e.name.size() - 2 || e.name.find(".ln") != std::string::npos ||
                            e.name == "out.bias";
    EXPECT_EQ(e.decay, !bias_or_ln) << e.name;
    decayed += e.decay;
  }
  EXPECT_EQ(decayed, 4 + 4 * cfg.num_layers);  // 4 embedding tables + qkv/proj/fc/fc2 per block

  // With zero gradients AdamW only applies decoupled decay: decayed groups shrink by (1 − lr·wd).
  OptimizerConfig oc;
  oc.lr = 0.1;
  oc.weight_decay = 0.5;
  AdamWOptimizer opt(m.params(), oc);
  Tensor before = m.params().params().clone();
  m.params().zero_grads();
  opt.step(0);
  for (const ParamEntry& e : m.params().entries()) {
    const float* p0 = before.data<float>() + e.offset;
    const float* p1 = m.params().params().data<float>() + e.offset;
    for (int64_t j = 0; j < e.numel; ++j)
      ASSERT_FLOAT_EQ(p1[j], e.decay ? p0[j] * (1.0f - 0.05f) : p0[j]) << e.name << "[" << j << "]";
  }
}

}  // namespace
}  // namespace seqmend
