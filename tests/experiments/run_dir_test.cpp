#include "experiments/run/run_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/base/error.h"
#include "kernels/gemm.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

struct RunConfig {
  double lr = 0.01;
  int steps = 100;
  std::string run_dir = "runs/x";
  void visit(ConfigVisitor& v) {
    v.field("lr", lr, "learning rate", 0.0, 1.0);
    v.field("steps", steps, "optimizer steps", 0, 1 << 30);
    v.field("run_dir", run_dir, "where the run writes");
  }
};

class RunDirTest : public ::testing::Test {
 protected:

  static std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  std::set<std::string> entries(const std::string& d) {
    std::set<std::string> names;
    for (auto& e : std::filesystem::directory_iterator(d)) names.insert(e.path().filename().string());
    return names;
  }

  test::TempDir tmp_{"seqmend_rundir"};
  std::string dir_ = tmp_.str();
};

TEST_F(RunDirTest, RankZeroCreatesOthersDoNot) {
  RunDir r0(dir_ + "/a/b/run1/", 0, 2);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/a/b/run1"));
  EXPECT_EQ(r0.path(), dir_ + "/a/b/run1");
  EXPECT_EQ(r0.file("config.yaml"), dir_ + "/a/b/run1/config.yaml");
  RunDir r1(dir_ + "/other", 1, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/other"));
  EXPECT_FALSE(r1.is_writer());
  RunConfig cfg;
  r1.write_config(cfg);
  r1.write_run_info();
  r1.append_metrics({{"step", 1}});
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/other"));
}

TEST_F(RunDirTest, ExistingFileInTheWayIsAnError) {
  std::ofstream(dir_ + "/taken") << "x";
  try {
    RunDir r(dir_ + "/taken");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run directory: cannot create " + dir_ + "/taken"), std::string::npos) << e.what();
  }
}

TEST_F(RunDirTest, ConfigYamlRepeatsTheRun) {
  RunDir run(dir_ + "/run");
  auto cfg = load_config<RunConfig>("", std::vector<std::string>{"lr=0.25", "steps=7"});
  run.write_config(cfg);
  auto again = load_config<RunConfig>(run.file("config.yaml"));
  EXPECT_EQ(again.lr, 0.25);
  EXPECT_EQ(again.steps, 7);
  EXPECT_EQ(again.run_dir, "runs/x");
  EXPECT_EQ(entries(run.path()), (std::set<std::string>{"config.yaml"}));  // no temp file left
}

TEST_F(RunDirTest, RunJsonRecordsProvenance) {
  setenv("SEQMEND_TEST_MARKER", "marker-value", 1);
  setenv("OMP_TEST_MARKER", "omp", 1);
  setenv("UNRELATED_TEST_MARKER", "nope", 1);
  RunDir run(dir_ + "/run", 0, 3);
  run.write_run_info({{"stage", "demo"}});
  std::ifstream in(run.file("run.json"));
  auto info = nlohmann::json::parse(in);
  EXPECT_EQ(info["stage"], "demo");
  EXPECT_EQ(info["world_size"], 3);
  EXPECT_GE(info["threads"].get<int>(), 1);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(info["host"], std::string(host));
  EXPECT_FALSE(info["user"].get<std::string>().empty());
  EXPECT_EQ(info["start_time_utc"].get<std::string>().size(), 20u);  // 2026-01-01T00:00:00Z
  // argv[0] is this test program.
  ASSERT_FALSE(info["command_line"].empty());
  EXPECT_NE(info["command_line"][0].get<std::string>().find("test_experiments"), std::string::npos)
      << info["command_line"].dump();
  EXPECT_EQ(info["environment"]["SEQMEND_TEST_MARKER"], "marker-value");
  EXPECT_EQ(info["environment"]["OMP_TEST_MARKER"], "omp");
  EXPECT_FALSE(info["environment"].contains("UNRELATED_TEST_MARKER"));
  const auto& libs = info["libraries"];
  EXPECT_NE(libs["openblas"].get<std::string>().find("OpenBLAS"), std::string::npos) << libs.dump();
  EXPECT_NE(libs["hdf5"].get<std::string>().find('.'), std::string::npos) << libs.dump();
  EXPECT_NE(libs["mpi"].get<std::string>().find("MPI"), std::string::npos) << libs.dump();
  EXPECT_NE(libs["yaml_cpp"], "unknown");
  EXPECT_FALSE(info["compiler"].get<std::string>().empty());
  // What the GEMMs ran on (kernels/gemm.h): figures move between CPUs and paths.
  EXPECT_EQ(info["cpu"]["gemm"], gemm_path_name(gemm_path())) << info["cpu"].dump();
  EXPECT_EQ(info["cpu"]["isa"], cpu_isa());
  EXPECT_EQ(info["cpu"]["openblas_core"], blas_core());
  EXPECT_TRUE(info["cpu"].contains("model"));
  // The commit is the one git reports for the source tree this binary was built from.
  std::string src = info["git"]["source_dir"];
  EXPECT_EQ(src, SEQMEND_SOURCE_DIR);
  std::string expect;
  if (FILE* p = popen(("git -C '" + src + "' rev-parse HEAD 2>/dev/null").c_str(), "r")) {
    char buf[64] = {};
    if (fgets(buf, sizeof buf, p)) expect = buf;
    pclose(p);
  }
  if (expect.empty()) GTEST_SKIP() << "git unavailable for " << src;
  expect.erase(expect.find_last_not_of("\n") + 1);
  EXPECT_EQ(info["git"]["commit"], expect);
  EXPECT_TRUE(info["git"]["dirty"].is_boolean());
  EXPECT_EQ(entries(run.path()), (std::set<std::string>{"run.json"}));
}

TEST_F(RunDirTest, MetricsAreOneFlushedObjectPerLine) {
  RunDir run(dir_ + "/run");
  run.append_metrics({{"step", 1}, {"loss", 2.5}});
  // Flushed: readable while the log is still open.
  ASSERT_EQ(lines(run.file("metrics.jsonl")).size(), 1u);
  run.append_metrics({{"step", 2}, {"loss", 2.25}, {"note", "line\nbreak"}});
  run.append_metrics({{"step", 3}, {"loss", std::nan("")}});
  auto ls = lines(run.file("metrics.jsonl"));
  ASSERT_EQ(ls.size(), 3u);
  for (size_t i = 0; i < ls.size(); ++i) {
    auto j = nlohmann::json::parse(ls[i]);
    EXPECT_EQ(j["step"], int(i) + 1);
  }
  EXPECT_EQ(nlohmann::json::parse(ls[1])["note"], "line\nbreak");
  EXPECT_TRUE(nlohmann::json::parse(ls[2])["loss"].is_null());  // NaN is not JSON
  EXPECT_THROW(run.append_metrics(nlohmann::json::array({1, 2})), Error);
  // A second log on the same file appends (a resumed run).
  MetricsLog again(run.file("metrics.jsonl"));
  again.append({{"step", 4}});
  EXPECT_EQ(lines(run.file("metrics.jsonl")).size(), 4u);
}

}  // namespace
}  // namespace seqmend
