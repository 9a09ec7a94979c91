#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/adamw_optimizer.h"
#include "core/model_config.h"
#include "io/config.h"
#include "tests/support/error_of.h"

namespace seqmend {
namespace {

TEST(ModelConfig, ReadsOverridesAndRoundTripsThroughYaml) {
  ModelConfig c = load_config<ModelConfig>("", {"num_items=3706", "d_model=128", "num_heads=4", "objective=causal",
                                                "attn_dropout=0.2", "seed=18446744073709551615"});
  EXPECT_EQ(c.num_items, 3706);
  EXPECT_EQ(c.d_model, 128);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_TRUE(c.causal());
  EXPECT_FLOAT_EQ(c.attn_dropout, 0.2f);
  EXPECT_EQ(c.seed, UINT64_MAX);
  EXPECT_EQ(c.max_len, 200);  // default kept
  std::string yaml = config_to_yaml(c);
  EXPECT_NE(yaml.find("d_model: 128"), std::string::npos) << yaml;
  EXPECT_NO_THROW(c.validate());
}

using test::error_of;

TEST(ModelConfig, ObjectiveIsClozeOrCausal) {
  EXPECT_EQ(ModelConfig{}.objective, "cloze");
  EXPECT_FALSE(ModelConfig{}.causal());
  const std::string bad = error_of([] { load_config_text<ModelConfig>("objective: sideways\n", "m.yaml"); });
  EXPECT_NE(bad.find("m.yaml:1:12: objective: `sideways` is not one of: cloze, causal"), std::string::npos) << bad;
}

// Run directories and checkpoints written before model.objective hold `causal: true | false`: they
// still read (`seqmend finetune encoder_checkpoint=OLD_RUN` reads the run's config.yaml), and nothing
// writes or documents the old key.
TEST(ModelConfig, ReadsTheRetiredCausalKeyAndNeverWritesIt) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/old_config.yaml") << "data_dir: x\nmodel:\n  d_model: 32\n  causal: true\n  seed: 7\n";
  ModelConfig old = load_config_section<ModelConfig>(dir + "/old_config.yaml", "model");
  EXPECT_EQ(old.objective, "causal");
  EXPECT_EQ(old.d_model, 32);
  EXPECT_EQ(load_config_text<ModelConfig>("causal: false\n", "m.yaml").objective, "cloze");
  // Later sources win, whichever key they use.
  EXPECT_EQ(load_config_text<ModelConfig>("causal: true\n", "m.yaml", {{"objective=cloze", "", ""}}).objective, "cloze");
  EXPECT_EQ(load_config<ModelConfig>("", {"objective=causal", "causal=false"}).objective, "cloze");
  // Both keys in one source: agreeing is fine, disagreeing names the key and where.
  EXPECT_EQ(load_config_text<ModelConfig>("objective: causal\ncausal: true\n", "m.yaml").objective, "causal");
  const std::string both = error_of([] { load_config_text<ModelConfig>("causal: true\nobjective: cloze\n", "m.yaml"); });
  EXPECT_NE(both.find("m.yaml:1:9: causal: `true` disagrees with objective `cloze`"), std::string::npos) << both;
  struct Run {
    ModelConfig model;
    void visit(ConfigVisitor& v) { v.section("model", model, "the model"); }
  };
  const std::string nested = error_of([] { load_config_text<Run>("model: {causal: false, objective: causal}\n", "r.yaml"); });
  EXPECT_NE(nested.find("model.causal: `false` disagrees with model.objective `causal`"), std::string::npos) << nested;
  EXPECT_NE(error_of([] { load_config_text<ModelConfig>("causal: maybe\n", "m.yaml"); }).find("causal: expected true or false"),
            std::string::npos);

  const std::string yaml = config_to_yaml(old), ref = config_reference(old);
  EXPECT_NE(yaml.find("objective: causal"), std::string::npos) << yaml;
  EXPECT_EQ(("\n" + yaml).find("\ncausal:"), std::string::npos) << yaml;  // "causal:" in a comment is fine
  EXPECT_NE(ref.find("  objective = causal"), std::string::npos) << ref;
  EXPECT_EQ(ref.find("  causal = "), std::string::npos) << ref;
  EXPECT_EQ(load_config_text<ModelConfig>(yaml, "written").objective, "causal");
  // A checkpoint's model_yaml from before compares equal on resume once rewritten (other docs too).
  ModelConfig stored = load_config_text<ModelConfig>("d_model: 32  # an old doc\ncausal: true  # another\nseed: 7\n", "ckpt");
  EXPECT_EQ(config_to_yaml(stored), yaml);
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
