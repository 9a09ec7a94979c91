// A sweep point before it runs (experiments/cli/sweep_point.h): its config resolved from the base and
// the overrides and checked, errors placed in the sweep file; its key (what changes it and what
// does not); its status from point.json. Running points is sweep_run_test's.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/base/error.h"
#include "experiments/cli/sweep_point.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

class SweepPointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "data/manifest.json")
        << R"({"num_items": 50, "splits": {"train": {"sequences": 10, "events": 100}}})";
  }

  PointInputs pretrain(std::vector<LocatedOverride> overrides = {}) {
    PointInputs in;
    in.name = "p";
    in.kind = "pretrain";
    in.base_text = "data_dir: " + (dir_ / "data").string() + "\nmodel:\n  d_model: 16\n  num_heads: 2\nmax_steps: 4\n";
    in.base_origin = "base.yaml";
    in.overrides = std::move(overrides);
    in.dir = (dir_ / "out/p").string();
    return in;
  }
  static std::string error_of(const PointInputs& in) {
    try {
      resolve_point(in);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  test::TempDir tmp_{"seqmend_sweep_point"};
  fs::path dir_ = tmp_.path();
};

TEST_F(SweepPointTest, PretrainPointResolvesWithItsOverridesAndRunsInItsDirectory) {
  ResolvedPoint r = resolve_point(pretrain({{"model.d_model=32", "s.yaml:3:3", "s.yaml:3:18"}}));
  EXPECT_EQ(r.pretrain.model.d_model, 32);
  EXPECT_EQ(r.pretrain.max_steps, 4);
  EXPECT_EQ(r.pretrain.run_dir, (dir_ / "out/p").string());
  EXPECT_EQ(r.data_dir, (dir_ / "data").string());
  EXPECT_EQ(r.key.size(), 16u);
}

TEST_F(SweepPointTest, KeyChangesWithWhatThePointComputesOnly) {
  const std::string k = resolve_point(pretrain()).key;
  EXPECT_EQ(resolve_point(pretrain()).key, k);
  // Run-time knobs: threads, the directory.
  EXPECT_EQ(resolve_point(pretrain({{"threads=2", "s:1:1", "s:1:9"}})).key, k);
  PointInputs moved = pretrain();
  moved.dir = (dir_ / "elsewhere/p").string();
  EXPECT_EQ(resolve_point(moved).key, k);
  // The config, and the data.
  EXPECT_NE(resolve_point(pretrain({{"max_steps=5", "s:1:1", "s:1:12"}})).key, k);
  EXPECT_NE(resolve_point(pretrain({{"model.seed=7", "s:1:1", "s:1:12"}})).key, k);
  std::ofstream(dir_ / "data/manifest.json") << R"({"num_items": 51})";
  EXPECT_NE(resolve_point(pretrain()).key, k);
}

TEST_F(SweepPointTest, ErrorsNameTheSweepFileOrTheBase) {
  EXPECT_EQ(error_of(pretrain({{"model.d_modle=32", "s.yaml:3:3", "s.yaml:3:18"}})),
            "s.yaml:3:3: model.d_modle: unknown key (did you mean `d_model`?)");
  EXPECT_EQ(error_of(pretrain({{"model.d_model=0", "s.yaml:3:3", "s.yaml:3:18"}})),
            "s.yaml:3:18: model.d_model: value 0 is out of range [1, 65536]");
  PointInputs bad_base = pretrain();
  bad_base.base_text += "epoch: 3\n";
  EXPECT_EQ(error_of(bad_base), "base.yaml:6:1: epoch: unknown key (did you mean `epochs`?)");
  // Settings that contradict each other are the point's.
  const std::string heads = error_of(pretrain({{"model.num_heads=3", "s:1:1", "s:1:9"}}));
  EXPECT_EQ(heads.rfind("point p: ", 0), 0u) << heads;
  EXPECT_NE(heads.find("d_model 16 is not divisible by num_heads 3"), std::string::npos) << heads;
  PointInputs no_data = pretrain();
  no_data.base_text = "max_steps: 3\n";
  EXPECT_EQ(error_of(no_data), "point p: data_dir is not set (in the base, or under `set:`)");
}

TEST_F(SweepPointTest, PipelinePointAppliesOverridesPerSectionAndChecksEveryStage) {
  PointInputs in;
  in.name = "q";
  in.kind = "pipeline";
  in.base_text =
      "run_dir: ignored\ndata: simulate\nsimulate:\n  simulator:\n    num_users: 50\npretrain:\n  max_steps: 3\n";
  in.base_origin = "pipe.yaml";
  in.overrides = {{"pretrain.model.d_model=24", "s.yaml:4:3", "s.yaml:4:28"}};
  in.dir = (dir_ / "out/q").string();
  ResolvedPoint r = resolve_point(in);
  EXPECT_EQ(r.pretrain.model.d_model, 24);
  EXPECT_EQ(r.pretrain.max_steps, 3);
  EXPECT_EQ(r.pipeline_text.rfind("run_dir: " + in.dir + "\n", 0), 0u) << r.pipeline_text;
  EXPECT_NE(r.pipeline_text.find("d_model: 24"), std::string::npos);
  EXPECT_TRUE(r.data_dir.empty());  // the data stage has not run
  PointInputs moved = in;
  moved.dir = (dir_ / "other").string();
  EXPECT_EQ(resolve_point(moved).key, r.key);

  in.overrides = {{"pretrian.max_steps=3", "s.yaml:4:3", "s.yaml:4:23"}};
  EXPECT_EQ(error_of(in),
            "s.yaml:4:3: pretrian.max_steps: a pipeline key starts with its section (did you mean "
            "`pretrain`?)");
  in.overrides = {{"pretrain.max_step=3", "s.yaml:4:3", "s.yaml:4:23"}};
  EXPECT_EQ(error_of(in), "s.yaml:4:3: max_step: unknown key (did you mean `max_steps`?) (section `pretrain`)");
  in.overrides = {{"run_dir=x", "s.yaml:4:3", "s.yaml:4:12"}};
  EXPECT_EQ(error_of(in), "s.yaml:4:3: run_dir: every point runs in its own directory; remove the key");
  // A stage's own check (here: the pipeline sets the pretrain paths) fails the point before it runs.
  in.overrides = {{"pretrain.data_dir=/x", "s.yaml:4:3", "s.yaml:4:22"}};
  const std::string e = error_of(in);
  EXPECT_EQ(e.rfind("point q: stage 'pretrain' of pipe.yaml: ", 0), 0u) << e;
  EXPECT_NE(e.find("set by the pipeline"), std::string::npos) << e;
}

TEST_F(SweepPointTest, StatusComesFromTheRecordAndTheKey) {
  EXPECT_EQ(point_status(nullptr, "k"), "new");
  EXPECT_EQ(point_status({{"key", "other"}, {"state", "done"}}, "k"), "changed");
  EXPECT_EQ(point_status({{"key", "k"}, {"state", "done"}}, "k"), "done");
  EXPECT_EQ(point_status({{"key", "k"}, {"state", "failed"}}, "k"), "failed");
  EXPECT_EQ(point_status({{"key", "k"}, {"state", "stopped"}}, "k"), "stopped");
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  // Running here: alive only while that process is a sweep process.
  EXPECT_EQ(point_status({{"key", "k"}, {"state", "running"}, {"host", host}, {"pid", 999999999}}, "k"), "interrupted");
  EXPECT_EQ(point_status({{"key", "k"}, {"state", "running"}, {"host", host}, {"pid", long(getpid())}}, "k"),
            "interrupted");  // this test program is alive but is no sweep
  // Running on another node: trusted.
  EXPECT_EQ(point_status({{"key", "k"}, {"state", "running"}, {"host", "node-elsewhere"}, {"pid", 1}}, "k"), "running");
  EXPECT_TRUE(status_needs_run("new"));
  EXPECT_TRUE(status_needs_run("changed"));
  EXPECT_TRUE(status_needs_run("failed"));
  EXPECT_TRUE(status_needs_run("stopped"));
  EXPECT_TRUE(status_needs_run("interrupted"));
  EXPECT_FALSE(status_needs_run("done"));
  EXPECT_FALSE(status_needs_run("running"));
}

TEST_F(SweepPointTest, RecordsRoundTripAndADamagedOneMeansNew) {
  const std::string d = (dir_ / "rec").string();
  EXPECT_TRUE(read_point_record(d).is_null());
  write_point_record(d, {{"key", "k"}, {"state", "done"}});
  EXPECT_EQ(read_point_record(d).value("state", ""), "done");
  std::ofstream(d + "/point.json") << "{\"key\": ";
  EXPECT_EQ(point_status(read_point_record(d), "k"), "new");
}

}  // namespace
}  // namespace seqmend
