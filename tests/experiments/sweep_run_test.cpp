// `seqmend sweep` through the built binary on a tiny simulated set: --dry-run lists and writes
// nothing; a run trains every point N at a time and collects the table; a re-run skips finished
// points, re-runs changed ones and only those; a failing point leaves the others done, the sweep
// exits non-zero and the next run re-runs the failed point alone. Interrupting and resuming is
// tests/sweep/local_sweep_test.sh's; the Slurm array tests/slurm/sweep_slurm_test.sh's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;
using test_support::Ran;
using test_support::run_shell;

std::string bin() { return std::string(SEQMEND_BINARY); }

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(slurp(p)); }

class SweepRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<test::TempDir>("seqmend_sweep_run");
    root_ = tmp_->path();
    Ran r = run_shell(bin() + " simulate --config " SEQMEND_SOURCE_DIR "/experiments/configs/simulate.yaml --out " +
                      (root_ / "data").string() +
                      " simulator.num_users=120 simulator.num_items=80 simulator.num_clusters=4 simulator.length_min=6"
                      " simulator.length_max=40 simulator.length_median=15 max_events_per_shard=600 write_clean=false"
                      " fsync=false threads=1");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  // A sweep file over the tiny test config; `body` adds grid/set/... lines.
  static std::string sweep_file(const std::string& name, const std::string& body) {
    const fs::path p = root_ / (name + ".yaml");
    std::ofstream(p) << "base: " SEQMEND_SOURCE_DIR "/experiments/configs/pretrain_tiny.yaml\nset:\n  data_dir: "
                     << (root_ / "data").string() << "\n  eval_every: 10\n"
                     << body;
    return p.string();
  }
  static Ran sweep(const std::string& file, const std::string& out, const std::string& args = "") {
    return run_shell("timeout 120 " + bin() + " sweep " + file + " --out " + out + " " + args);
  }

  static std::unique_ptr<test::TempDir> tmp_;
  static fs::path root_;
};
std::unique_ptr<test::TempDir> SweepRunTest::tmp_;
fs::path SweepRunTest::root_;

TEST_F(SweepRunTest, DryRunListsThePointsAndTheirCostsAndWritesNothing) {
  const std::string f = sweep_file("dry", "  max_steps: 10\ngrid:\n  model.d_model: [8, 16]\nseeds: [1, 2]\n");
  const std::string out = (root_ / "dry-out").string();
  Ran r = sweep(f, out, "--dry-run");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name : {"d_model=8,seed=1", "d_model=8,seed=2", "d_model=16,seed=1", "d_model=16,seed=2"})
    EXPECT_NE(r.output.find(name), std::string::npos) << name << "\n" << r.output;
  EXPECT_NE(r.output.find("params"), std::string::npos);
  EXPECT_NE(r.output.find("est. step"), std::string::npos);
  EXPECT_NE(r.output.find("run (new)"), std::string::npos);
  EXPECT_NE(r.output.find("4 of 4 points would run"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
  // A point that cannot run is found before anything runs.
  const std::string bad = sweep_file("dry-bad", "grid:\n  model.num_heads: [2, 3]\n");
  r = sweep(bad, out, "--dry-run");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("point num_heads=3: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("d_model 16 is not divisible by num_heads 3"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(SweepRunTest, APointAboveTheAvailableMemoryIsRefusedUnlessInsisted) {
  // d_model 32768 x 2 layers: ~26 G parameters, far more than any test machine holds.
  const std::string f = sweep_file("memory", "  max_steps: 6\ngrid:\n  model.d_model: [16, 32768]\n");
  const std::string out = (root_ / "memory-out").string();
  Ran r = sweep(f, out, "--dry-run");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("1 point(s) need more memory than this machine has available"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("d_model=32768 ("), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--insist"), std::string::npos) << r.output;
  r = sweep(f, out, "--dry-run --insist");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: running 1 point(s) above the available memory"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 of 2 points would run"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

// Points under mpirun started side by side each keep their MPI session files apart
// (distributed/session_base.h): here Open MPI's shared default, <TMPDIR>/ompi.<host>.<uid>, is a
// file, and a point's mpirun that used it could not start at all.
TEST_F(SweepRunTest, PointsUnderMpirunSideBySideKeepTheirSessionsApart) {
  const test::TempDir tmp("seqmend_sweep_tmp");
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  const std::string short_host = std::string(host).substr(0, std::string(host).find('.'));
  const std::string shared = tmp / ("ompi." + short_host + "." + std::to_string(::getuid()));
  std::ofstream(shared) << "in the way";
  // TMPDIR alone says where session files go (the test program sets a base of its own:
  // tests/support/mpi_session_per_program.cpp).
  const std::string env = "env -u OMPI_MCA_orte_tmpdir_base TMPDIR=" + tmp.str();
  Ran blocked = run_shell(env + " timeout 60 mpirun -np 1 --allow-run-as-root " + bin() + " info");
  EXPECT_NE(blocked.status, 0) << "the shared directory does not stand in mpirun's way:\n" << blocked.output;

  const std::string out = (root_ / "mpirun-out").string();
  const std::string f = sweep_file("mpirun", "  max_steps: 6\ngrid:\n  model.d_model: [8, 16]\n");
  Ran r = run_shell(env + " timeout 120 " + bin() + " sweep " + f + " --out " + out + " --jobs 2 --ranks 2");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* p : {"d_model=8", "d_model=16"})
    EXPECT_EQ(read_json(fs::path(out) / p / "point.json")["state"], "done")
        << p << "\n" << slurp(fs::path(out) / p / "sweep.log");
  EXPECT_TRUE(fs::is_empty(tmp.path() / ("seqmend-mpi." + std::to_string(::getuid()))));
}

TEST_F(SweepRunTest, RunsEveryPointThenSkipsFinishedAndRerunsChangedOnes) {
  const std::string out = (root_ / "run-out").string();
  std::string f = sweep_file("run", "  max_steps: 10\ngrid:\n  model.d_model: [8, 16]\n");
  Ran r = sweep(f, out, "--jobs 2");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* p : {"d_model=8", "d_model=16"}) {
    const fs::path dir = fs::path(out) / p;
    EXPECT_EQ(read_json(dir / "point.json")["state"], "done") << p;
    EXPECT_EQ(read_json(dir / "results.json")["steps"], 10) << p;
    EXPECT_TRUE(fs::exists(dir / "sweep.log"));
  }
  const nlohmann::json sweep_json = read_json(fs::path(out) / "sweep.json");
  EXPECT_EQ(sweep_json["points"].size(), 2u);
  EXPECT_EQ(sweep_json["points"][1]["overrides"][3]["value_at"].get<std::string>(), f + ":7:22");
  const std::string csv = slurp(fs::path(out) / "results.csv");
  EXPECT_NE(csv.find("d_model=8,done,8,"), std::string::npos) << csv;
  EXPECT_TRUE(fs::exists(fs::path(out) / "results.md"));

  // Again: nothing runs, nothing is touched.
  const auto mtime = fs::last_write_time(fs::path(out) / "d_model=8/results.json");
  r = sweep(f, out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("skip (done)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing to run"), std::string::npos) << r.output;
  EXPECT_EQ(fs::last_write_time(fs::path(out) / "d_model=8/results.json"), mtime);

  // A changed config re-runs; an extra grid value adds a point and leaves the others alone.
  f = sweep_file("run", "  max_steps: 12\ngrid:\n  model.d_model: [8, 16]\n");
  r = sweep(f, out, "--dry-run");
  EXPECT_NE(r.output.find("run (changed)"), std::string::npos) << r.output;
  r = sweep(f, out, "--jobs 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_json(fs::path(out) / "d_model=8/results.json")["steps"], 12);
  EXPECT_EQ(read_json(fs::path(out) / "d_model=8/point.json")["attempts"], 1);  // a new key starts afresh
  f = sweep_file("run", "  max_steps: 12\ngrid:\n  model.d_model: [4, 8, 16]\n");
  r = sweep(f, out, "--dry-run");
  EXPECT_NE(r.output.find("1 of 3 points would run"), std::string::npos) << r.output;
}

TEST_F(SweepRunTest, AFailingPointLeavesTheOthersAndIsTheOnlyOneRerun) {
  const std::string out = (root_ / "fail-out").string();
  const std::string f = sweep_file("fail", "  max_steps: 6\ngrid:\n  debug.throw_step: [-1, 3]\n");
  Ran r = sweep(f, out, "--jobs 2");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("throw_step=3 failed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("injected failure at step 3"), std::string::npos) << r.output;
  EXPECT_EQ(read_json(fs::path(out) / "throw_step=-1/point.json")["state"], "done");
  const nlohmann::json failed = read_json(fs::path(out) / "throw_step=3/point.json");
  EXPECT_EQ(failed["state"], "failed");
  EXPECT_NE(failed["error"].get<std::string>().find("injected failure at step 3"), std::string::npos);
  EXPECT_NE(slurp(fs::path(out) / "results.csv").find("throw_step=3,failed,3"), std::string::npos);
  r = sweep(f, out, "--dry-run");
  EXPECT_NE(r.output.find("run (failed)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("skip (done)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 of 2 points would run"), std::string::npos) << r.output;
}

TEST_F(SweepRunTest, OneSweepCommandAtATimePerDirectory) {
  const std::string out = (root_ / "lock-out").string();
  const std::string f = sweep_file("lock", "  max_steps: 6\n");
  fs::create_directories(out);
  // What a running sweep holds: the lock, with its pid.
  const int fd = ::open((out + "/.sweep.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  ASSERT_EQ(::pwrite(fd, "4242", 4, 0), 4);
  Ran r = sweep(f, out);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("another sweep command (pid 4242) is running in " + out), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(fs::path(out) / "sweep.json"));
  EXPECT_EQ(sweep(f, out, "--dry-run").status, 0);  // a dry run writes nothing and needs no lock
  ::close(fd);
  r = sweep(f, out);
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(SweepRunTest, CollectRebuildsTheTableAndPointRunsOnePoint) {
  const std::string out = (root_ / "collect-out").string();
  const std::string f = sweep_file("collect", "  max_steps: 6\nseeds: [5]\n");
  ASSERT_EQ(sweep(f, out).status, 0);
  fs::remove(fs::path(out) / "results.csv");
  Ran r = run_shell(bin() + " sweep collect " + out + " --no-plots");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(slurp(fs::path(out) / "results.csv").find("seed=5,base,done,5,"), std::string::npos);
  // `sweep point` on a done point: skipped.
  r = run_shell(bin() + " sweep point " + out + " --name seed=5");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("is done"), std::string::npos) << r.output;
  r = run_shell(bin() + " sweep point " + out + " --index 7");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no point with index 7"), std::string::npos) << r.output;
}

// A pipeline sweep (inline base: the smallest pipeline with every stage): its table carries the
// detection and repair columns; a change in one section re-runs the point, whose pipeline then
// skips the stages before the change.
TEST_F(SweepRunTest, PipelinePointsReportDetectionAndRecoveryAndSkipUnchangedStages) {
  const std::string out = (root_ / "pipe-out").string();
  auto write = [&](const std::string& evaluate) {
    const fs::path p = root_ / "pipe.yaml";
    std::ofstream(p) << "base:\n  data: simulate\n  simulate:\n"
                        "    simulator: {seed: 5, num_users: 80, num_items: 60, num_clusters: 4, length_min: 8,"
                        " length_max: 20, length_median: 12}\n"
                        "    inject: {noise_rate: 0.05, drop_rate: 0.03, bot_rate: 0.05, protect_last: 2}\n"
                        "    fsync: false\n"
                        "  pretrain:\n    model: {max_len: 16, d_model: 16, num_layers: 1, num_heads: 2}\n"
                        "    global_batch_size: 16\n    max_steps: 8\n    eval_every: 4\n    threads: 1\n"
                        "  finetune: {global_batch_size: 16, max_steps: 4, threads: 1}\n"
                        "  detect: {surprisal_passes: 2, threads: 1}\n"
                        "  repair:\n    repair: {protect_last: 2}\n"
                        "  evaluate: "
                     << evaluate
                     << "\n"
                        "grid:\n  pretrain.model.d_model: [16]\n";
    return p.string();
  };
  Ran r = sweep(write("{}"), out);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("costs known after its data stage"), std::string::npos) << r.output;
  const fs::path point = fs::path(out) / "d_model=16";
  EXPECT_TRUE(fs::exists(point / "report.md"));
  std::istringstream csv(slurp(fs::path(out) / "results.csv"));
  std::string header, row;
  std::getline(csv, header);
  std::getline(csv, row);
  for (const char* c : {"detect_roc_auc", "detect_pr_auc", "recovered_hr@10", "recovered_ndcg@10"})
    EXPECT_NE(header.find(c), std::string::npos) << c;
  EXPECT_EQ(row.rfind("d_model=16,d_model=16,done,16,", 0), 0u) << row;
  std::vector<std::string> cells;
  std::istringstream cut(row);
  for (std::string c; std::getline(cut, c, ',');) cells.push_back(c);
  ASSERT_GE(cells.size(), 4u);
  for (size_t i = cells.size() - 4; i < cells.size(); ++i)
    EXPECT_FALSE(cells[i].empty()) << "column " << i << ": " << row;

  // Only the evaluate section changes: the point runs again and its pipeline skips the rest.
  r = sweep(write("{seeds: 2}"), out, "--dry-run");
  EXPECT_NE(r.output.find("run (changed)"), std::string::npos) << r.output;
  r = sweep(write("{seeds: 2}"), out);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string log = slurp(point / "sweep.log");
  EXPECT_NE(log.find("run: pretrain unchanged"), std::string::npos) << log;
  EXPECT_NE(log.find("run: evaluate running"), std::string::npos) << log;
}

}  // namespace
}  // namespace seqmend
