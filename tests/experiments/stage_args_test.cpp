#include "experiments/cli/stage_args.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

struct DemoOptim {
  double lr = 1e-3;
  std::string schedule = "cosine";
  void visit(ConfigVisitor& v) {
    v.field("lr", lr, "peak learning rate", 0.0, 10.0);
    v.choice("schedule", schedule, {"constant", "linear", "cosine"}, "learning-rate schedule");
  }
};
struct DemoConfig {
  int steps = 10;
  DemoOptim optim;
  void visit(ConfigVisitor& v) {
    v.field("steps", steps, "optimizer steps", 1, 1000000);
    v.section("optim", optim, "optimizer");
  }
};

class StageArgsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cmd_ = app_.add_subcommand("demo", "a stage for the test");
    args_ = add_stage_args<DemoConfig>(*cmd_);
  }
  test::TempDir tmp_{"seqmend_stage"};
  std::string dir_ = tmp_.str();
  CLI::App app_{"test"};
  CLI::App* cmd_ = nullptr;
  std::shared_ptr<StageArgs> args_;
};

TEST_F(StageArgsTest, ConfigFileThenOverrides) {
  std::string path = dir_ + "/demo.yaml";
  std::ofstream(path) << "steps: 50\noptim:\n  lr: 0.1\n";
  app_.parse("demo --config " + path + " optim.lr=0.5 optim.schedule=linear", false);
  EXPECT_EQ(args_->config_path, path);
  EXPECT_EQ(args_->overrides, (std::vector<std::string>{"optim.lr=0.5", "optim.schedule=linear"}));
  auto cfg = args_->load<DemoConfig>();
  EXPECT_EQ(cfg.steps, 50);
  EXPECT_DOUBLE_EQ(cfg.optim.lr, 0.5);
  EXPECT_EQ(cfg.optim.schedule, "linear");
  EXPECT_FALSE(args_->print_config);
}

TEST_F(StageArgsTest, NoConfigMeansDefaults) {
  app_.parse("demo --print-config steps=3", false);
  auto cfg = args_->load<DemoConfig>();
  EXPECT_EQ(cfg.steps, 3);
  EXPECT_EQ(cfg.optim.schedule, "cosine");
  EXPECT_TRUE(args_->print_config);
}

TEST_F(StageArgsTest, BadOverrideFailsAtLoadWithKeyPath) {
  app_.parse("demo optim.lrr=0.5", false);
  try {
    args_->load<DemoConfig>();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("override `optim.lrr=0.5`: optim.lrr: unknown key (did you mean `lr`?)"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(StageArgsTest, ParseErrorsForMalformedArguments) {
  EXPECT_THROW(app_.parse("demo not-an-override", false), CLI::ValidationError);
  EXPECT_THROW(app_.parse("demo --config " + dir_ + "/missing.yaml", false), CLI::ValidationError);
  EXPECT_THROW(app_.parse("demo --bogus", false), CLI::ParseError);
}

TEST_F(StageArgsTest, HelpListsConfigKeys) {
  std::string help = cmd_->help();
  EXPECT_NE(help.find("--config"), std::string::npos) << help;
  EXPECT_NE(help.find("optim.lr = 0.001  (float in [0.0, 10.0])  peak learning rate"), std::string::npos) << help;
  EXPECT_NE(help.find("optim.schedule = cosine  (one of constant|linear|cosine)"), std::string::npos) << help;
}

}  // namespace
}  // namespace seqmend
