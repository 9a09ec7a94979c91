// Every failure point of ingest, corrupt, repair and a checkpoint write, one at a time, through
// the built binary (io/fault_injection.h: SEQMEND_FAULT=K fails the K-th write, fsync, rename or
// close; K:crash stops the process dead there). After a failed write the previous output is intact
// and readable and nothing half-written looks whole; after a crash the output is the old one or the
// new one, whole, and the next run cleans up what the crash left. K runs from 1 until a run passes
// every point; the number of points is printed, so the figures can be quoted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>

#include "io/fault_injection.h"
#include "io/shard_set.h"
#include "tests/support/mpi_env.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;
using test_support::Ran;
using test_support::run_shell;

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The whole shard set, read back: throws unless every shard opens, checks and decodes.
std::string whole_set(const std::string& dir) {
  ShardSet set = ShardSet::open(dir);
  std::string sig;
  for (const std::string& split : set.split_names()) {
    SequenceSet s = load_split(set, split);
    sig += split + ":" + std::to_string(s.num_sequences()) + "/" + std::to_string(s.num_events()) + " ";
  }
  return sig;
}

class FaultInjection : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  static Ran seqmend(const std::string& args, const std::string& fault = "") {
    const std::string env = std::string(test_support::kQuickSingletonMpi) + " " +
                            (fault.empty() ? "" : "SEQMEND_FAULT=" + fault + " ");
    return run_shell("cd / && " + env + "timeout 300 " + std::string(SEQMEND_BINARY) + " " + args);
  }

  // Writes a CSV log of `users` users (ids from `seed`), 12 events each.
  std::string log(const std::string& name, int users, unsigned seed) {
    std::mt19937 g(seed);
    std::string text = "user_id,item_id,timestamp\n";
    for (int u = 0; u < users; ++u)
      for (int e = 0; e < 12; ++e) text += std::to_string(u) + "," + std::to_string(1 + g() % 80) + "," + std::to_string(e) + "\n";
    std::ofstream(path(name)) << text;
    return path(name);
  }

  // Runs `write_new` with every fault point failing in turn, then crashing in turn. `state()` says
  // what the output holds (throws if it is not whole); `write_old` puts the old output back.
  // Returns the number of fault points the command passes.
  int loop(const std::string& what, const std::string& write_new, const std::function<std::string()>& state,
           const std::string& write_old, const std::string& parent) {
    auto must = [&](const std::string& args) {
      Ran r = seqmend(args);
      ASSERT_EQ(r.status, 0) << what << ": " << r.output;
    };
    must(write_old);
    const std::string old_state = state();
    int points = 0;
    for (int k = 1;; ++k) {
      Ran r = seqmend(write_new, std::to_string(k));
      if (r.output.find("injected fault") == std::string::npos) {
        EXPECT_EQ(r.status, 0) << what << " k=" << k << ": " << r.output;
        points = k - 1;
        break;
      }
      EXPECT_EQ(r.status, 1) << what << " k=" << k << ": " << r.output;
      EXPECT_EQ(r.output.find("seqmend: error:"), 0u) << what << " k=" << k << ": " << r.output;
      std::string now;
      EXPECT_NO_THROW(now = state()) << what << " k=" << k << ": the old output is damaged";
      if (now != old_state) {
        // Only the durability fsync of the parent after the new output was renamed into place may
        // fail with the new output whole in place; then the old one must be gone whole.
        EXPECT_NE(r.output.find("injected fault: fsync of " + parent + " "), std::string::npos)
            << what << " k=" << k << ": a failed write changed the output: " << r.output;
        must(write_old);
      }
      if (k > 500) {
        ADD_FAILURE() << what << ": more than 500 fault points";
        break;
      }
    }
    const std::string new_state = state();
    EXPECT_NE(new_state, old_state) << what << ": the new output should differ from the old one";
    // Crashes: the writer alternates between the two outputs, so each point costs two runs — the
    // crash, then the same write again, which must clean up and finish.
    for (int k = 1; k <= points; ++k) {
      const bool to_old = k % 2 == 0;
      const std::string& before = to_old ? new_state : old_state;
      const std::string& after = to_old ? old_state : new_state;
      const std::string& args = to_old ? write_old : write_new;
      Ran r = seqmend(args, std::to_string(k) + ":crash");
      EXPECT_EQ(r.status, kFaultCrashExit) << what << " crash at " << k << ": " << r.output;
      std::string now;
      EXPECT_NO_THROW(now = state()) << what << " crash at " << k << ": the output is damaged";
      EXPECT_TRUE(now == before || now == after) << what << " crash at " << k << ": " << now;
      Ran again = seqmend(args);
      EXPECT_EQ(again.status, 0) << what << " after a crash at " << k << ": " << again.output;
      EXPECT_EQ(state(), after) << what << " after a crash at " << k;
    }
    std::printf("[ fault points ] %s: %d, each failed and crashed in turn\n", what.c_str(), points);
    return points;
  }

  test::TempDir tmp_{"seqmend_faults"};
  fs::path dir_ = tmp_.path();
};

TEST_F(FaultInjection, IngestOverwrite) {
  const std::string a = log("a.csv", 300, 1), b = log("b.csv", 200, 2), out = path("out");
  const int points = loop("ingest", "ingest --format csv --input " + b + " --out " + out + " --overwrite",
                          [&] { return whole_set(out); },
                          "ingest --format csv --input " + a + " --out " + out + " --overwrite", dir_.string());
  EXPECT_GT(points, 20);
  // Nothing but the output and its lock beside it.
  for (const auto& e : fs::directory_iterator(dir_)) {
    const std::string f = e.path().filename().string();
    EXPECT_TRUE(f == "out" || f == ".out.lock" || f == "a.csv" || f == "b.csv") << "left behind: " << f;
  }
}

TEST_F(FaultInjection, CorruptOverwrite) {
  const std::string in = path("in"), out = path("out");
  ASSERT_EQ(seqmend("ingest --format csv --input " + log("a.csv", 200, 3) + " --out " + in).status, 0);
  const std::string base = "corrupt --input " + in + " --out " + out + " overwrite=true inject.noise_rate=0.05 ";
  const int points = loop(
      "corrupt", base + "seed=2",
      [&] { return whole_set(out) + whole_set(out + "/clean") + slurp(out + "/repair_truth.tsv"); }, base + "seed=1",
      dir_.string());
  EXPECT_GT(points, 20);
}

TEST_F(FaultInjection, RepairOverwrite) {
  const std::string run = path("run");
  std::ofstream(path("p.yaml")) << "run_dir: " << run
                                << "\ndata: simulate\nsimulate:\n  simulator: {seed: 5, num_users: 60, num_items: 50,"
                                   " num_clusters: 4, length_min: 8, length_max: 16, length_median: 10}\n"
                                   "  inject: {noise_rate: 0.08, protect_last: 2}\n  fsync: false\n"
                                   "pretrain: {model: {max_len: 16, d_model: 16, num_layers: 1, num_heads: 2},"
                                   " global_batch_size: 16, max_steps: 4, eval_every: 4, threads: 1}\n"
                                   "finetune: {global_batch_size: 16, max_steps: 2, threads: 1}\n"
                                   "detect: {surprisal_passes: 2, threads: 1}\n";
  Ran p = seqmend("run " + path("p.yaml") + " --stop-after detect");
  ASSERT_EQ(p.status, 0) << p.output;
  const std::string out = path("repaired");
  // No precision floor: this tiny detector is imprecise, and the test needs its edits made.
  std::string base = "repair data_dir=" + run + "/data/set out_dir=" + out +
                     " overwrite=true predictor=none repair.min_expected_precision=0";
  for (const char* split : {"train", "valid", "test"})
    base += std::string(" scores_") + split + "=" + run + "/detect/" + split + "/scores.h5";
  const int points = loop(
      "repair", base + " repair.protect_last=2",
      [&] { return whole_set(out) + whole_set(out + "/quarantine") + slurp(out + "/edits.csv"); },
      base + " repair.protect_last=1000", dir_.string());
  EXPECT_GT(points, 20);
}

// A checkpoint write failing or crashing at any point: the run exits (1 or the crash), the
// checkpoints that remain are whole, and --resume finishes the run with the results of one that
// never failed.
TEST_F(FaultInjection, CheckpointWrite) {
  const std::string data = path("data");
  ASSERT_EQ(seqmend("ingest --format csv --input " + log("a.csv", 120, 4) + " --out " + data).status, 0);
  const std::string base = "pretrain --config " SEQMEND_SOURCE_DIR "/experiments/configs/pretrain_tiny.yaml data_dir=" + data +
                           " max_steps=20 eval_every=10 checkpoint.every=10 threads=1 checkpoint.fallback_on_damage=false";
  auto results = [&](const std::string& run) {
    nlohmann::json j = nlohmann::json::parse(slurp(run + "/results.json"));
    return j["valid"].dump() + j["test"].dump() + std::to_string(j["steps"].get<int64_t>());
  };
  ASSERT_EQ(seqmend(base + " run_dir=" + path("clean")).status, 0);
  const std::string expected = results(path("clean"));
  int points = 0;
  for (const char* mode : {"", ":crash"}) {
    for (int k = 1;; ++k) {
      const std::string run = path("r" + std::to_string(k) + (*mode ? "c" : ""));
      Ran r = seqmend(base + " run_dir=" + run, std::to_string(k) + mode);
      const bool fired = r.output.find(*mode ? "injected crash" : "injected fault") != std::string::npos;
      if (!fired) {
        EXPECT_EQ(r.status, 0) << r.output;
        if (!*mode) points = k - 1;
        break;
      }
      EXPECT_EQ(r.status, *mode ? kFaultCrashExit : 1) << "k=" << k << mode << ": " << r.output;
      // results.json comes after the last checkpoint; only its own write may have left it.
      EXPECT_TRUE(!fs::exists(run + "/results.json") || r.output.find("results.json") != std::string::npos ||
                  r.output.find("fsync of " + run + " (") != std::string::npos)
          << "k=" << k << mode << ": " << r.output;
      Ran resumed = seqmend(base + " run_dir=" + run + " --resume");
      ASSERT_EQ(resumed.status, 0) << "k=" << k << mode << ": " << resumed.output;
      EXPECT_EQ(results(run), expected) << "k=" << k << mode;
      fs::remove_all(run);
      ASSERT_LT(k, 200);
    }
  }
  std::printf("[ fault points ] pretrain with 2 checkpoints: %d, each failed and crashed in turn\n", points);
  EXPECT_GT(points, 10);
}

}  // namespace
}  // namespace seqmend
