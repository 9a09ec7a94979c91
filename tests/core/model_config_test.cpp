#include <gtest/gtest.h>

#include "core/adamw_optimizer.h"
#include "core/model_config.h"
#include "io/config.h"

namespace seqmend {
namespace {

TEST(ModelConfig, ReadsOverridesAndRoundTripsThroughYaml) {
  ModelConfig c = load_config<ModelConfig>("", {"num_items=3706", "d_model=128", "num_heads=4", "causal=true",
                                                "attn_dropout=0.2", "seed=18446744073709551615"});
  EXPECT_EQ(c.num_items, 3706);
  EXPECT_EQ(c.d_model, 128);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_TRUE(c.causal);
  EXPECT_FLOAT_EQ(c.attn_dropout, 0.2f);
  EXPECT_EQ(c.seed, UINT64_MAX);
  EXPECT_EQ(c.max_len, 200);  // default kept
  std::string yaml = config_to_yaml(c);
  EXPECT_NE(yaml.find("d_model: 128"), std::string::npos) << yaml;
  EXPECT_NO_THROW(c.validate());
}

TEST(ModelConfig, RejectsUnknownKeysAndOutOfRangeValues) {
  try {
    load_config<ModelConfig>("", {"d_modle=8"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("d_model"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_config<ModelConfig>("", {"hidden_dropout=1.5"}), Error);
  ModelConfig c;
  c.num_items = 10;
  c.d_model = 30;
  c.num_heads = 4;
  try {
    c.validate();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("d_model 30 is not divisible by num_heads 4"), std::string::npos);
  }
  OptimizerConfig o = load_config<OptimizerConfig>("", {"lr=3e-4", "schedule=cosine", "total_steps=100"});
  EXPECT_DOUBLE_EQ(o.lr, 3e-4);
  EXPECT_EQ(o.schedule, "cosine");
  EXPECT_THROW(load_config<OptimizerConfig>("", {"schedule=cosin"}), Error);
}

}  // namespace
}  // namespace seqmend
