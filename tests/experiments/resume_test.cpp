// Kill and resume `seqmend pretrain` through the built binary: a run that is SIGKILLed (between
// checkpoints, and in the middle of writing one) or stopped by SIGUSR1 (alone, and with the signal
// sent to mpirun of a 2-rank job) and then resumed must log the same losses, bit for bit, and end
// with the same results as a run that was never interrupted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.h"
#include "tests/support/mpi_env.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tmpfs.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* kBinary = SEQMEND_BINARY;

using test_support::Child;
using test_support::mpirun2;
using test_support::poll_until;
using test_support::slurp;
using test_support::spawn;
using test_support::wait_for;

bool has_temp_checkpoint(const std::string& dir, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, ".ckpt-%06lld.h5.tmp.", static_cast<long long>(step));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(name, 0) == 0) return true;
  return false;
}

std::string ckpt(const std::string& run, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "/ckpt-%06lld.h5", static_cast<long long>(step));
  return run + name;
}

// Training and evaluation records of metrics.jsonl without the timing fields: what must repeat
// exactly. JSON numbers are written in shortest round-trip form, so equal text means equal bits.
std::vector<std::string> reproducible_metrics(const std::string& run) {
  std::vector<std::string> out;
  std::ifstream f(run + "/metrics.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    for (const char* k : {"tokens_per_s", "step_s", "comm_share", "comm_wait_share"}) j.erase(k);
    out.push_back(j.dump());
  }
  return out;
}

nlohmann::json results(const std::string& run) {
  std::ifstream f(run + "/results.json");
  return nlohmann::json::parse(f);
}

class ResumeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<test::TempDir>("seqmend_resume");
    root_ = tmp_->path();
    Child sim = spawn({kBinary, "simulate", "--config", SEQMEND_SOURCE_DIR "/experiments/configs/simulate.yaml", "--out",
                       data(), "simulator.num_users=120", "simulator.num_items=80", "simulator.num_clusters=4",
                       "simulator.length_min=6", "simulator.length_max=40", "simulator.length_median=15",
                       "max_events_per_shard=600", "write_clean=false", "fsync=false", "threads=1"},
                      path("simulate.log"));
    ASSERT_EQ(wait_for(sim), 0) << slurp(path("simulate.log"));
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  static std::string data() { return (root_ / "data").string(); }
  static std::string path(const std::string& name) { return (root_ / name).string(); }

  // The tiny config, 160 steps with dropout, evaluations every 40 and a checkpoint every 20.
  static std::vector<std::string> pretrain(const std::string& run, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {kBinary, "pretrain", "--config", SEQMEND_SOURCE_DIR "/experiments/configs/pretrain_tiny.yaml",
                                  "data_dir=" + data(), "run_dir=" + run, "max_steps=160", "eval_every=40",
                                  "checkpoint.every=20", "checkpoint.keep=2"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // The uninterrupted run every interrupted one is held against (once per world size).
  static const std::string& baseline(int world) {
    static std::string b[3];
    if (b[world].empty()) {
      const std::string run = path("baseline" + std::to_string(world));
      auto args = pretrain(run);
      Child c = spawn(world == 1 ? args : mpirun2(args), run + ".log");
      EXPECT_EQ(wait_for(c), 0) << slurp(run + ".log");
      b[world] = run;
    }
    return b[world];
  }

  static void expect_same_run(const std::string& resumed, int world) {
    const std::string& base = baseline(world);
    const auto want = reproducible_metrics(base), got = reproducible_metrics(resumed);
    ASSERT_EQ(want.size(), got.size()) << "metrics.jsonl records: a resumed run repeats no step twice";
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(want[i], got[i]) << "record " << i;
    auto r0 = results(base), r1 = results(resumed);
    EXPECT_EQ(r0["valid"], r1["valid"]);
    EXPECT_EQ(r0["test"], r1["test"]);
    EXPECT_EQ(r0["best_step"], r1["best_step"]);
    EXPECT_EQ(r0["tokens"], r1["tokens"]);
  }

  // SIGUSR1 (what Slurm's --signal sends before the time limit) once checkpoint 40 exists, to the
  // process or to mpirun (which forwards it to the ranks): the run stops at the next step boundary,
  // writes a checkpoint there and exits 75; then it is resumed to the end.
  static void stop_and_resume(const std::string& run, bool under_mpirun, int sig = SIGUSR1) {
    const std::string log = run + ".log";
    auto launch = [&](std::vector<std::string> extra) {
      auto a = pretrain(run, std::move(extra));
      return spawn(under_mpirun ? mpirun2(a) : a, log);
    };
    Child c = launch({});
    ASSERT_TRUE(poll_until(c, [&] { return fs::exists(ckpt(run, 40)); })) << slurp(log);
    kill(c.pid, sig);
    ASSERT_EQ(wait_for(c), 75) << slurp(log);
    const std::string out = slurp(log), said = "stop signal, leaving at step ";
    const auto at = out.find(said);
    ASSERT_NE(at, std::string::npos) << out;
    const int64_t stopped = std::stoll(out.substr(at + said.size()));
    EXPECT_GE(stopped, 40);
    EXPECT_LT(stopped, 160) << "stopped early, not at the end";
    EXPECT_TRUE(fs::exists(ckpt(run, stopped))) << "a checkpoint at the step where it stopped";
    EXPECT_EQ(slurp(run + "/latest"), ckpt(run, stopped).substr(run.size() + 1) + "\n");

    Child r = launch({"--resume"});
    ASSERT_EQ(wait_for(r), 0) << slurp(log);
    EXPECT_NE(slurp(log).find("resumed from " + ckpt(run, stopped)), std::string::npos) << slurp(log);
  }

  static std::unique_ptr<test::TempDir> tmp_;
  static fs::path root_;
};
std::unique_ptr<test::TempDir> ResumeTest::tmp_;
fs::path ResumeTest::root_;

TEST_F(ResumeTest, SigkillBetweenCheckpointsThenResumeRepeatsTheLossesBitForBit) {
  const std::string run = path("killed"), log = run + ".log";
  Child c = spawn(pretrain(run), log);
  ASSERT_TRUE(poll_until(c, [&] { return fs::exists(ckpt(run, 40)); })) << slurp(log);
  kill(c.pid, SIGKILL);
  ASSERT_EQ(wait_for(c), 128 + SIGKILL) << "the run ended before the kill: " << slurp(log);
  ASSERT_FALSE(fs::exists(run + "/results.json"));

  Child r = spawn(pretrain(run, {"--resume"}), log);
  ASSERT_EQ(wait_for(r), 0) << slurp(log);
  EXPECT_NE(slurp(log).find("pretrain: resumed from " + run + "/ckpt-0000"), std::string::npos) << slurp(log);
  expect_same_run(run, 1);
  // keep=2: only the two newest remain (the finished run writes one at its last step), and
  // `latest` names the newest.
  EXPECT_TRUE(fs::exists(ckpt(run, 160)));
  EXPECT_TRUE(fs::exists(ckpt(run, 140)));
  EXPECT_FALSE(fs::exists(ckpt(run, 120)));
  EXPECT_EQ(slurp(run + "/latest"), "ckpt-000160.h5\n");
}

TEST_F(ResumeTest, SigkillDuringACheckpointWriteKeepsThePreviousOne) {
  const std::string run = path("killed_writing"), log = run + ".log";
  // The writer pauses between the finished temporary file and the rename: kill it there.
  Child c = spawn(pretrain(run, {"checkpoint.debug_pause_before_rename_ms=3000"}), log);
  ASSERT_TRUE(poll_until(c, [&] { return has_temp_checkpoint(run, 40); })) << slurp(log);
  kill(c.pid, SIGKILL);
  ASSERT_EQ(wait_for(c), 128 + SIGKILL) << slurp(log);
  EXPECT_FALSE(fs::exists(ckpt(run, 40)));
  EXPECT_TRUE(fs::exists(ckpt(run, 20)));
  EXPECT_EQ(slurp(run + "/latest"), "ckpt-000020.h5\n");

  Child r = spawn(pretrain(run, {"resume=true"}), log);
  ASSERT_EQ(wait_for(r), 0) << slurp(log);
  EXPECT_NE(slurp(log).find("resumed from " + ckpt(run, 20) + " at step 20"), std::string::npos) << slurp(log);
  EXPECT_FALSE(has_temp_checkpoint(run, 40)) << "the killed writer's temporary is cleared on resume";
  expect_same_run(run, 1);
}

TEST_F(ResumeTest, DamagedNewestCheckpointIsAnErrorUnlessFallbackIsOn) {
  const std::string run = path("damaged"), log = run + ".log";
  Child c = spawn(pretrain(run), log);
  ASSERT_EQ(wait_for(c), 0) << slurp(log);
  const std::string newest = ckpt(run, 160);  // written at the end of the run
  ASSERT_TRUE(fs::exists(newest));
  fs::resize_file(newest, fs::file_size(newest) - 1000);  // a torn copy

  Child r = spawn(pretrain(run, {"--resume"}), log);
  EXPECT_EQ(wait_for(r), 1);
  const std::string out = slurp(log);
  EXPECT_NE(out.find("checkpoint " + newest), std::string::npos) << out;
  EXPECT_NE(out.find("checkpoint.fallback_on_damage=true"), std::string::npos) << out;

  Child f = spawn(pretrain(run, {"--resume", "checkpoint.fallback_on_damage=true"}), log);
  ASSERT_EQ(wait_for(f), 0) << slurp(log);
  EXPECT_NE(slurp(log).find("resumed from " + ckpt(run, 140) + " at step 140"), std::string::npos) << slurp(log);
  EXPECT_TRUE(fs::exists(newest + ".damaged"));
  expect_same_run(run, 1);
}

TEST_F(ResumeTest, SigusrOneProcessCheckpointsExits75AndResumes) {
  const std::string run = path("usr1");
  stop_and_resume(run, false);
  expect_same_run(run, 1);
}

TEST_F(ResumeTest, SigtermIsAStopSignalToo) {  // Slurm sends SIGTERM at the limit (or after USR1)
  const std::string run = path("term");
  stop_and_resume(run, false, SIGTERM);
  expect_same_run(run, 1);
}

TEST_F(ResumeTest, SigusrToMpirunStopsBothRanksAndTheResumedJobMatches) {
  const std::string run = path("usr1_np2");
  stop_and_resume(run, true);
  expect_same_run(run, 2);
}


// A run directory knows its run: a fresh start into another run's directory is refused (nothing
// touched) unless --overwrite, which starts clean; --resume follows `latest`, ignoring (and never
// pruning) a newer checkpoint some other writer left.
TEST_F(ResumeTest, AnotherRunsDirectoryIsRefusedOverwrittenOrResumedFromLatest) {
  const std::string run = path("claimed"), log = run + ".log";
  ASSERT_EQ(wait_for(spawn(pretrain(run, {"max_steps=40"}), log)), 0) << slurp(log);
  const std::string results_before = slurp(run + "/results.json");
  auto run_id = [&] { return nlohmann::json::parse(slurp(run + "/run.json"))["run_id"].get<std::string>(); };
  const std::string first_id = run_id();
  EXPECT_EQ(first_id.size(), 16u);
  fs::remove(log);
  EXPECT_NE(wait_for(spawn(pretrain(run, {"max_steps=40"}), log)), 0);
  EXPECT_NE(slurp(log).find("holds another run"), std::string::npos) << slurp(log);
  EXPECT_EQ(slurp(run + "/results.json"), results_before) << "the refused start touched nothing";

  fs::remove(log);
  EXPECT_EQ(run_id(), first_id) << "the refused start did not rewrite run.json";
  ASSERT_EQ(wait_for(spawn(pretrain(run, {"max_steps=40", "--overwrite"}), log)), 0) << slurp(log);
  const std::string second_id = run_id();
  EXPECT_NE(second_id, first_id) << "a fresh start is a new run";
  std::vector<int64_t> steps;
  for (const std::string& line : reproducible_metrics(run)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) steps.push_back(j["step"].get<int64_t>());
  }
  ASSERT_FALSE(steps.empty());
  EXPECT_TRUE(std::is_sorted(steps.begin(), steps.end()) &&
              std::adjacent_find(steps.begin(), steps.end()) == steps.end())
      << "metrics.jsonl holds this run's steps once each, none of the earlier run's";

  // Another writer's newer checkpoint appears; resume takes the one `latest` names.
  fs::copy_file(ckpt(run, 40), ckpt(run, 999));
  fs::remove(log);
  ASSERT_EQ(wait_for(spawn(pretrain(run, {"max_steps=80", "--resume"}), log)), 0) << slurp(log);
  EXPECT_NE(slurp(log).find("ignoring " + ckpt(run, 999)), std::string::npos) << slurp(log);
  EXPECT_NE(slurp(log).find("resumed from " + ckpt(run, 40) + " at step 40"), std::string::npos) << slurp(log);
  EXPECT_EQ(slurp(run + "/latest"), "ckpt-000080.h5\n");
  EXPECT_EQ(run_id(), second_id) << "a resumed run keeps its id";
  EXPECT_TRUE(fs::exists(ckpt(run, 80)) && fs::exists(ckpt(run, 60))) << "keep=2 counts this run's own";
  EXPECT_TRUE(fs::exists(ckpt(run, 999))) << "the other writer's file is not this run's to prune";
}

// The last checkpoint cannot be written (its name is taken by a directory that cannot be removed):
// the run fails, naming it, and leaves no results.json claiming the unsaved step.
TEST_F(ResumeTest, AFailedFinalCheckpointLeavesNoResultsClaimingIt) {
  const std::string run = path("unsaved"), log = run + ".log";
  fs::create_directories(ckpt(run, 40) + "/blocker");
  const int rc = wait_for(spawn(pretrain(run, {"max_steps=40", "checkpoint.every=0", "--overwrite"}), log));
  EXPECT_NE(rc, 0) << slurp(log);
  EXPECT_NE(slurp(log).find("ckpt-000040.h5"), std::string::npos) << slurp(log);
  EXPECT_FALSE(fs::exists(run + "/results.json")) << slurp(run + "/results.json");
}


// A real full disk under run_dir (a 100 KB tmpfs): the checkpoint cannot be written; the run exits 1
// with the cause first, leaves no temporary checkpoint and no results.json, and does not crash.
TEST_F(ResumeTest, FullDiskUnderRunDirIsAnOrdinaryError) {
  test_support::Tmpfs disk(path("full"), "100k");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  const std::string run = path("full/run"), log = path("full.log");
  const int rc = wait_for(spawn(pretrain(run, {"max_steps=20", "checkpoint.every=0"}), log));
  EXPECT_EQ(rc, 1) << slurp(log);
  EXPECT_NE(slurp(log).find("seqmend: error: no space left on device writing checkpoint"), std::string::npos)
      << slurp(log);
  EXPECT_FALSE(fs::exists(run + "/results.json"));
  EXPECT_FALSE(has_temp_checkpoint(run, 20));
}


// --resume on other data of the same size (same sample count, so the data position fits) is
// refused, naming the data directory.
TEST_F(ResumeTest, ResumeOnOtherDataIsRefused) {
  const std::string other = path("other_data"), run = path("other_run"), log = run + ".log";
  Child sim = spawn({kBinary, "simulate", "--config", SEQMEND_SOURCE_DIR "/experiments/configs/simulate.yaml", "--out", other,
                     "simulator.seed=99", "simulator.num_users=120", "simulator.num_items=80", "simulator.num_clusters=4",
                     "simulator.length_min=6", "simulator.length_max=40", "simulator.length_median=15",
                     "max_events_per_shard=600", "write_clean=false", "fsync=false", "threads=1"},
                    log);
  ASSERT_EQ(wait_for(sim), 0) << slurp(log);
  ASSERT_EQ(wait_for(spawn(pretrain(run, {"max_steps=20"}), log)), 0) << slurp(log);
  fs::remove(log);
  EXPECT_NE(wait_for(spawn(pretrain(run, {"max_steps=40", "data_dir=" + other, "--resume"}), log)), 0);
  EXPECT_NE(slurp(log).find("trained on other data than data_dir '" + other + "'"), std::string::npos) << slurp(log);
}

}  // namespace
}  // namespace seqmend
