// Kill and resume `seqmend finetune` through the built binary, as resume_test.cpp does for
// pretraining: fine-tuning runs in the same training loop, so a run SIGKILLed between checkpoints
// or stopped by SIGUSR1 (exit 75) and then resumed must log the same losses and end with the same
// detector.h5 (parameters and thresholds) and results.json as a run that was never interrupted.
// And what the design promises across rank counts: 2 ranks inject the same anomalies and train on
// the same global batches as 1, so the detector differs only by the rounding of sums over ranks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
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

#include "core/detector.h"
#include "experiments/detect/detector_checkpoint.h"
#include "experiments/run/checkpoint.h"
#include "tests/support/child_process.h"
#include "tests/support/mpi_env.h"
#include "tests/support/temp_dir.h"

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

std::string ckpt(const std::string& run, int64_t step) { return run + "/" + checkpoint_file_name(step); }

// metrics.jsonl without its timing field: what must repeat exactly (JSON numbers are written in
// shortest round-trip form, so equal text means equal bits).
std::vector<std::string> reproducible_metrics(const std::string& run) {
  std::vector<std::string> out;
  std::ifstream f(run + "/metrics.jsonl");
  for (std::string line; std::getline(f, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    j.erase("sequences_per_s");
    out.push_back(j.dump());
  }
  return out;
}

nlohmann::json results(const std::string& run) {
  auto j = nlohmann::json::parse(slurp(run + "/results.json"));
  j.erase("train_seconds");
  return j;
}

// The detector's parameters (encoder, then heads) as detector.h5 holds them.
std::vector<float> detector_params(const std::string& run, LoadedDetector* keep = nullptr) {
  LoadedDetector ld = load_detector(run);
  std::vector<float> out;
  for (ParamBuffer* pb : {&ld.detector->encoder().params(), &ld.detector->heads().params()}) {
    const float* p = pb->params().data<float>();
    out.insert(out.end(), p, p + pb->numel());
  }
  if (keep) *keep = std::move(ld);
  return out;
}

class FinetuneResumeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<test::TempDir>("seqmend_ft_resume");
    root_ = tmp_->path();
    const std::string log = path("setup.log");
    Child sim = spawn({kBinary, "simulate", "--config", SEQMEND_SOURCE_DIR "/experiments/configs/simulate.yaml", "--out",
                       path("data"), "simulator.num_users=160", "simulator.num_items=80", "simulator.num_clusters=4",
                       "simulator.length_min=6", "simulator.length_max=40", "simulator.length_median=15",
                       "max_events_per_shard=800", "fsync=false", "threads=1"},
                      log);
    ASSERT_EQ(wait_for(sim), 0) << slurp(log);
    Child pre = spawn({kBinary, "pretrain", "--config", SEQMEND_SOURCE_DIR "/experiments/configs/pretrain_tiny.yaml",
                       "data_dir=" + path("data/clean"), "run_dir=" + path("pre"), "max_steps=30", "eval_every=30",
                       "eval_test=false", "optim.lr=0.01", "threads=1"},
                      log);
    ASSERT_EQ(wait_for(pre), 0) << slurp(log);
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  static std::string path(const std::string& name) { return (root_ / name).string(); }

  // 120 steps with dropout, injected labels (bots included), a checkpoint every 20 steps.
  static std::vector<std::string> finetune(const std::string& run, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {kBinary, "finetune", "data_dir=" + path("data/clean"), "run_dir=" + run,
                                  "encoder_checkpoint=" + path("pre"), "simulator_config=" + path("data/config.yaml"),
                                  "labels=inject", "inject.noise_rate=0.1", "inject.bot_rate=0.1",
                                  "inject.protect_last=2", "global_batch_size=16", "max_steps=120", "log_every=10",
                                  "optim.lr=0.005", "optim.warmup_steps=10", "optim.schedule=cosine",
                                  "detector.heads.hidden=16", "checkpoint.every=20", "checkpoint.keep=2",
                                  "valid_max_sequences=60", "surprisal_passes=2", "threads=1"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  // The uninterrupted run every interrupted one is held against (once per world size).
  static const std::string& baseline(int world) {
    static std::string b[3];
    if (b[world].empty()) {
      const std::string run = path("baseline" + std::to_string(world));
      Child c = spawn(world == 1 ? finetune(run) : mpirun2(finetune(run)), run + ".log");
      EXPECT_EQ(wait_for(c), 0) << slurp(run + ".log");
      b[world] = run;
    }
    return b[world];
  }

  static void expect_same_run(const std::string& resumed, int world = 1) {
    const std::string& base = baseline(world);
    const auto want = reproducible_metrics(base), got = reproducible_metrics(resumed);
    ASSERT_EQ(want.size(), got.size()) << "metrics.jsonl records: a resumed run repeats no step twice";
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(want[i], got[i]) << "record " << i;
    EXPECT_EQ(results(base), results(resumed));
    LoadedDetector a, b;
    const std::vector<float> pa = detector_params(base, &a), pb = detector_params(resumed, &b);
    ASSERT_EQ(pa.size(), pb.size());
    EXPECT_EQ(0, std::memcmp(pa.data(), pb.data(), sizeof(float) * pa.size())) << "detector.h5 parameters";
    EXPECT_EQ(a.info.thresholds.to_json(), b.info.thresholds.to_json());
    EXPECT_EQ(a.info.fusion.to_json(), b.info.fusion.to_json());
    EXPECT_EQ(b.info.step, 120);
  }

  // SIGUSR1 (Slurm's warning before the time limit) once checkpoint 40 exists, to the process or
  // to mpirun (which forwards it to the ranks): the run stops at the next step boundary, writes a
  // checkpoint there, exits 75 without calibrating, and is resumed to the end.
  static void stop_and_resume(const std::string& run, bool under_mpirun) {
    const std::string log = run + ".log";
    auto launch = [&](std::vector<std::string> extra) {
      auto a = finetune(run, std::move(extra));
      return spawn(under_mpirun ? mpirun2(a) : a, log);
    };
    Child c = launch({});
    ASSERT_TRUE(poll_until(c, [&] { return fs::exists(ckpt(run, 40)); })) << slurp(log);
    kill(c.pid, SIGUSR1);
    ASSERT_EQ(wait_for(c), 75) << slurp(log);
    const std::string out = slurp(log), said = "finetune: stop signal, leaving at step ";
    const auto at = out.find(said);
    ASSERT_NE(at, std::string::npos) << out;
    const int64_t stopped = std::stoll(out.substr(at + said.size()));
    EXPECT_GE(stopped, 40);
    EXPECT_LT(stopped, 120) << "stopped early, not at the end";
    EXPECT_TRUE(fs::exists(ckpt(run, stopped))) << "a checkpoint at the step where it stopped";
    EXPECT_FALSE(fs::exists(run + "/detector.h5")) << "a stopped run leaves no detector";

    Child r = launch({"--resume"});
    ASSERT_EQ(wait_for(r), 0) << slurp(log);
    EXPECT_NE(slurp(log).find("resumed from " + ckpt(run, stopped)), std::string::npos) << slurp(log);
  }

  static std::unique_ptr<test::TempDir> tmp_;
  static fs::path root_;
};
std::unique_ptr<test::TempDir> FinetuneResumeTest::tmp_;
fs::path FinetuneResumeTest::root_;

TEST_F(FinetuneResumeTest, SigkillBetweenCheckpointsThenResumeGivesTheSameDetectorBitForBit) {
  const std::string run = path("killed"), log = run + ".log";
  Child c = spawn(finetune(run), log);
  ASSERT_TRUE(poll_until(c, [&] { return fs::exists(ckpt(run, 40)); })) << slurp(log);
  kill(c.pid, SIGKILL);
  ASSERT_EQ(wait_for(c), 128 + SIGKILL) << "the run ended before the kill: " << slurp(log);
  ASSERT_FALSE(fs::exists(run + "/detector.h5"));

  // A fresh start into the killed run's directory is refused; --resume continues it.
  Child fresh = spawn(finetune(run), log);
  EXPECT_NE(wait_for(fresh), 0);
  EXPECT_NE(slurp(log).find("holds another run"), std::string::npos) << slurp(log);

  Child r = spawn(finetune(run, {"--resume"}), log);
  ASSERT_EQ(wait_for(r), 0) << slurp(log);
  EXPECT_NE(slurp(log).find("finetune: resumed from " + run + "/ckpt-0000"), std::string::npos) << slurp(log);
  expect_same_run(run);
  EXPECT_EQ(slurp(run + "/latest"), checkpoint_file_name(120) + "\n");
}

TEST_F(FinetuneResumeTest, SigusrCheckpointsExits75AndResumes) {
  const std::string run = path("usr1");
  stop_and_resume(run, false);
  expect_same_run(run);
}

TEST_F(FinetuneResumeTest, SigusrToMpirunStopsBothRanksAndTheResumedJobMatches) {
  const std::string run = path("usr1_np2");
  stop_and_resume(run, true);
  expect_same_run(run, 2);
}

// 2 ranks vs 1: the same global batches, injections and dropout, each rank's gradient divided by
// the global labelled counts; only the order of the sums over ranks differs. So the losses and the
// detector agree to rounding (not bit for bit): a relative difference of 1e-3 of the largest
// parameter bounds 40 AdamW steps of float rounding, while a different batch or injection moves
// parameters by about the learning rate (5e-3) at every step.
TEST_F(FinetuneResumeTest, TwoRanksGiveTheSameDetectorAsOneToRounding) {
  const std::vector<std::string> extra = {"max_steps=40", "checkpoint.every=0"};
  const std::string one = path("np1"), two = path("np2");
  ASSERT_EQ(wait_for(spawn(finetune(one, extra), one + ".log")), 0) << slurp(one + ".log");
  ASSERT_EQ(wait_for(spawn(mpirun2(finetune(two, extra)), two + ".log")), 0) << slurp(two + ".log");
  const std::vector<float> a = detector_params(one), b = detector_params(two);
  ASSERT_EQ(a.size(), b.size());
  float scale = 0.0f, diff = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::fabs(a[i]));
    diff = std::max(diff, std::fabs(a[i] - b[i]));
  }
  std::printf("1 vs 2 ranks: largest parameter difference %g, largest parameter %g\n", double(diff), double(scale));
  EXPECT_LT(diff, 1e-3f * scale) << "largest parameter difference " << diff << " of scale " << scale;
  const auto ra = reproducible_metrics(one), rb = reproducible_metrics(two);
  ASSERT_EQ(ra.size(), rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    const auto ja = nlohmann::json::parse(ra[i]), jb = nlohmann::json::parse(rb[i]);
    const double la = ja["loss"].get<double>(), lb = jb["loss"].get<double>();
    EXPECT_NEAR(lb, la, 1e-4 * std::fabs(la)) << "record " << i;
  }
}

}  // namespace
}  // namespace seqmend
