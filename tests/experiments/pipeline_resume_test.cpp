// `seqmend run` stopped and resumed, as a Slurm job signalled before its time limit and requeued
// sees it: SIGUSR1 to mpirun of a 2-rank pipeline in each training stage (pretrain, finetune,
// evaluate) in turn ends the run with exit 75 and no done.json for that stage; the same command
// then skips the finished stages, resumes the stopped one from its checkpoint, and the run ends
// with the numbers of a run that was never interrupted, bit for bit. And a stage killed before it
// finished resumes only under the key it was started with.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/cli/repair_stage.h"
#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_pipeline.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;
using test_support::Child;
using test_support::mpirun2;
using test_support::poll_until;
using test_support::slurp;
using test_support::spawn;
using test_support::wait_for;

// The tiny pipeline with a few hundred steps in each training stage, long enough for a signal to
// land inside it.
std::string pipeline(const std::string& run_dir) {
  std::string text = test_support::tiny_pipeline(run_dir);
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"  max_steps: 8\n", "  max_steps: 300\n"},
                                 {"  eval_every: 4\n", "  eval_every: 50\n"},
                                 {"  log_every: 2\n", "  log_every: 10\n"},
                                 {"max_steps: 4, log_every: 2", "max_steps: 200, log_every: 10"},
                                 {"evaluate: {}", "evaluate: {seeds: 2}"}})
    text = test_support::with_setting(text, from, to);
  return text;
}

// A JSON file without what may differ between two runs of the same numbers: timings, and the run
// directory inside paths.
nlohmann::json numbers(const std::string& file, const std::string& run_dir) {
  std::function<void(nlohmann::json&)> strip = [&](nlohmann::json& j) {
    if (j.is_object()) {
      for (const char* k : {"train_seconds", "seconds", "step_s", "tokens_per_s", "comm_share", "comm_wait_share"})
        j.erase(k);
      for (auto& [k, v] : j.items()) strip(v);
    } else if (j.is_array()) {
      for (auto& v : j) strip(v);
    } else if (j.is_string()) {
      std::string s = j.get<std::string>();
      for (size_t at; (at = s.find(run_dir)) != std::string::npos;) s.replace(at, run_dir.size(), "RUN");
      j = s;
    }
  };
  nlohmann::json j = nlohmann::json::parse(slurp(file));
  strip(j);
  return j;
}

class PipelineResumeTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return (root_ / name).string(); }

  // Writes the pipeline file for run directory `name` and returns the command that runs it.
  std::vector<std::string> run_command(const std::string& name) {
    const std::string file = path(name + ".yaml");
    std::ofstream(file) << pipeline(path(name));
    return mpirun2({SEQMEND_BINARY, "run", file});
  }

  test::TempDir tmp_{"seqmend_pipeline_resume"};
  fs::path root_ = tmp_.path();
};

TEST_F(PipelineResumeTest, StopInEachTrainingStageThenTheSameCommandEndsWithTheUninterruptedNumbers) {
  const std::string ref = path("ref"), run = path("run");
  ASSERT_EQ(wait_for(spawn(run_command("ref"), ref + ".log")), 0) << slurp(ref + ".log");

  // Each stop lands in a training stage once its metrics show steps; the stages before it are
  // finished by then (the first time) or skipped.
  const std::vector<std::string> cmd = run_command("run");
  const std::vector<std::pair<std::string, std::string>> stops = {
      {"pretrain", run + "/pretrain/run/metrics.jsonl"},
      {"finetune", run + "/finetune/run/metrics.jsonl"},
      {"evaluate", run + "/evaluate/run/raw/seed-1/metrics.jsonl"}};  // seed-0 finished: read back
  for (const auto& [stage, metrics] : stops) {
    const std::string log = run + "." + stage + ".log";
    Child c = spawn(cmd, log);
    ASSERT_TRUE(poll_until(c, [&] { return slurp(metrics).find("\"loss\"") != std::string::npos; })) << slurp(log);
    kill(c.pid, SIGUSR1);
    ASSERT_EQ(wait_for(c), 75) << slurp(log);
    const std::string out = slurp(log);
    EXPECT_NE(out.find("run: " + stage), std::string::npos) << out;
    EXPECT_NE(out.find(" stopped by a signal after "), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(run + "/" + stage + "/started.json")) << stage;
    EXPECT_FALSE(fs::exists(run + "/" + stage + "/done.json")) << stage << " was stopped, not done";
    EXPECT_FALSE(fs::exists(run + "/report/done.json")) << "no stage after " << stage << " ran";
  }
  const std::string log = run + ".last.log";
  ASSERT_EQ(wait_for(spawn(cmd, log)), 0) << slurp(log);
  const std::string out = slurp(log);
  EXPECT_NE(out.find("run: evaluate resuming"), std::string::npos) << out;
  EXPECT_NE(out.find("raw/seed-0 finished before, read back"), std::string::npos) << out;
  EXPECT_NE(out.find("resumed from " + run + "/evaluate/run/raw/seed-1/ckpt-"), std::string::npos) << out;
  // Progress over the 3 sets x 2 seeds: the time left is estimated from the trainings this run made.
  auto line_of = [&](const std::string& head) {
    const size_t at = out.find(head);
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  };
  EXPECT_NE(line_of("evaluate: training 2 of 6: raw data, seed 2 of 2, in " + run + "/evaluate/run/raw/seed-1"), "")
      << out;
  const std::string read_back = line_of("evaluate: 1 of 6 done (raw, seed 1): valid ");
  EXPECT_NE(read_back, "") << out;
  EXPECT_EQ(read_back.find("left"), std::string::npos) << "nothing trained yet to time: " << read_back;
  EXPECT_NE(line_of("evaluate: 2 of 6 done (raw, seed 2): valid ").find("; about "), std::string::npos) << out;
  EXPECT_EQ(line_of("evaluate: 6 of 6 done (clean, seed 2): valid ").find("left"), std::string::npos) << out;
  for (const char* stage : {"pretrain", "finetune"}) {
    const std::string earlier = slurp(run + "." + (stage == std::string("pretrain") ? "finetune" : "evaluate") + ".log");
    EXPECT_NE(earlier.find("run: " + std::string(stage) + " resuming"), std::string::npos) << earlier;
    EXPECT_NE(earlier.find("resumed from " + run + "/" + stage + "/run/ckpt-"), std::string::npos) << earlier;
  }

  EXPECT_EQ(numbers(run + "/pretrain/run/results.json", run), numbers(ref + "/pretrain/run/results.json", ref));
  for (const char* split : {"train", "valid", "test"}) {
    const ScoresFile a = read_scores_h5(run + "/detect/" + split + "/scores.h5");
    const ScoresFile b = read_scores_h5(ref + "/detect/" + split + "/scores.h5");
    EXPECT_EQ(a.scores.event, b.scores.event) << split;
    EXPECT_EQ(a.scores.gap, b.scores.gap) << split;
    EXPECT_EQ(a.scores.sequence, b.scores.sequence) << split;
    EXPECT_EQ(a.thresholds.to_json(), b.thresholds.to_json()) << split;
  }
  EXPECT_EQ(numbers(run + "/audit/audit.json", run), numbers(ref + "/audit/audit.json", ref));
  EXPECT_EQ(numbers(run + "/evaluate/run/evaluate.json", run), numbers(ref + "/evaluate/run/evaluate.json", ref));
  // A finished training keeps its ranks, not its checkpoints.
  EXPECT_TRUE(fs::exists(run + "/evaluate/run/raw/seed-1/ranks.csv"));
  EXPECT_FALSE(fs::exists(run + "/evaluate/run/raw/seed-1/latest"));
}

// A stage that was started but never finished (killed: no done.json) resumes from its checkpoint
// when its key is the same, and starts afresh — its old run directory cleared — when the config
// changed or with --force.
TEST_F(PipelineResumeTest, AnUnfinishedStageResumesOnlyUnderTheKeyItStartedWith) {
  const std::string run = path("killed");
  auto run_to_pretrain = [&](const std::string& text, const std::string& extra = "") {
    const std::string file = path("killed.yaml"), log = path("killed.log");
    std::ofstream(file) << text;
    fs::remove(log);
    EXPECT_EQ(wait_for(spawn({SEQMEND_BINARY, "run", file, "--stop-after", "pretrain"}, log)), 0) << slurp(log);
    if (!extra.empty()) {
      fs::remove(log);
      EXPECT_EQ(wait_for(spawn({SEQMEND_BINARY, "run", file, "--stop-after", "pretrain", extra}, log)), 0)
          << slurp(log);
    }
    return slurp(log);
  };
  const std::string text = test_support::tiny_pipeline(run);
  run_to_pretrain(text);
  ASSERT_TRUE(fs::exists(run + "/pretrain/run/ckpt-000008.h5"));
  fs::remove(run + "/pretrain/done.json");  // as if killed after its last checkpoint
  std::string out = run_to_pretrain(text);
  EXPECT_NE(out.find("run: pretrain resuming"), std::string::npos) << out;
  EXPECT_NE(out.find("resumed from " + run + "/pretrain/run/ckpt-000008.h5 at step 8"), std::string::npos) << out;

  fs::remove(run + "/pretrain/done.json");
  const std::string changed = test_support::with_setting(text, "  max_steps: 8\n", "  max_steps: 6\n");
  out = run_to_pretrain(changed);
  EXPECT_NE(out.find("run: pretrain running"), std::string::npos) << out;
  EXPECT_EQ(out.find("resumed from"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(run + "/pretrain/run/ckpt-000008.h5")) << "the other key's checkpoints are cleared";
  EXPECT_TRUE(fs::exists(run + "/pretrain/run/ckpt-000006.h5"));

  fs::remove(run + "/pretrain/done.json");
  out = run_to_pretrain(changed, "--force");
  EXPECT_EQ(out.find("resumed from"), std::string::npos) << "--force starts afresh: " << out;
}

}  // namespace
}  // namespace seqmend
