// `seqmend pretrain`: the data-parallel sampler in-process, and the stage end to end through the
// built binary — alone and under `mpirun -np 2` (same global batches → same losses), gradient
// accumulation, the run directory, and a failing rank (damaged shard, NaN, exception) ending the
// whole job with a message within seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/train/data_parallel_loader.h"
#include "io/shard_set.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

using test_support::Ran;
using test_support::run_shell;

std::string bin() { return std::string(SEQMEND_BINARY); }
// A hung job must fail the test, not the CI run: every launch has a hard time limit.
std::string mpirun2() {
  return "timeout 60 mpirun -np 2 --oversubscribe --allow-run-as-root " + bin();
}
std::string alone() { return "timeout 60 " + bin(); }

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream f(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Training losses by step from metrics.jsonl.
std::vector<double> losses(const std::string& run) {
  std::vector<double> out;
  for (const auto& j : read_jsonl(run + "/metrics.jsonl"))
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  return out;
}

// Two runs of 50 logged steps (e.g. 1 and 2 ranks) agree to a relative 1e-4 at every step.
void expect_same_50_losses(const std::string& run_a, const std::string& run_b) {
  const auto l1 = losses(run_a), l2 = losses(run_b);
  ASSERT_EQ(l1.size(), 50u);
  ASSERT_EQ(l2.size(), 50u);
  double worst = 0.0;
  for (size_t i = 0; i < l1.size(); ++i) worst = std::max(worst, std::fabs(l1[i] - l2[i]) / std::fabs(l1[i]));
  EXPECT_LT(worst, 1e-4) << "largest relative loss difference over 50 steps";
}

class PretrainTest : public ::testing::Test {
 protected:
  // One tiny simulated data set for the whole suite: ~120 users in several train shards.
  static void SetUpTestSuite() {
    tmp_ = std::make_unique<test::TempDir>("seqmend_pretrain");
    root_ = tmp_->path();
    Ran r = run_shell(bin() + " simulate --config " SEQMEND_SOURCE_DIR "/experiments/configs/simulate.yaml --out " +
                      data() +
                      " simulator.num_users=120 simulator.num_items=80 simulator.num_clusters=4"
                      " simulator.length_min=6 simulator.length_max=40 simulator.length_median=15"
                      " max_events_per_shard=600 write_clean=false fsync=false threads=1");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() { tmp_.reset(); }

  static std::string data() { return (root_ / "data").string(); }
  static std::string path(const std::string& name) { return (root_ / name).string(); }
  static std::string tiny(const std::string& data_dir, const std::string& run) {
    return " pretrain --config " SEQMEND_SOURCE_DIR "/experiments/configs/pretrain_tiny.yaml data_dir=" + data_dir +
           " run_dir=" + run;
  }
  // A copy of the data set whose shards can be damaged without spoiling the others' tests.
  static std::string copy_data(const std::string& name) {
    const std::string dst = path(name);
    fs::remove_all(dst);
    fs::copy(data(), dst, fs::copy_options::recursive);
    return dst;
  }

  static std::unique_ptr<test::TempDir> tmp_;
  static fs::path root_;
};
std::unique_ptr<test::TempDir> PretrainTest::tmp_;
fs::path PretrainTest::root_;

// The GEMM path is chosen from SEQMEND_GEMM at start-up: a bad value is an error naming it, and
// OpenBLAS's generic kernels on a modern CPU are warned about once.
TEST(ProcessLayout, GemmPathFromTheEnvironment) {
  Ran r = run_shell("SEQMEND_GEMM=bogus " + bin() + " info");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("SEQMEND_GEMM='bogus': expected auto, onednn or openblas"), std::string::npos) << r.output;
  r = run_shell("SEQMEND_GEMM=openblas OPENBLAS_CORETYPE=Prescott " + bin() + " info");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("GEMMs through openblas"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("OpenBLAS core Prescott"), std::string::npos) << r.output;
  const std::string isa = cpu_isa();
  if (isa != "sse4.2" && isa != "baseline") {
    EXPECT_NE(r.output.find("seqmend: warning: OpenBLAS runs its generic 'Prescott' kernels"), std::string::npos)
        << r.output;
  }
}

// More ranks than cores (the launcher binds none of them): each takes a share of the cores rather
// than all of them, so the node is not oversubscribed several times over.
TEST(ProcessLayout, RanksThatOutnumberTheCoresShareThem) {
  const int cores = int(std::thread::hardware_concurrency());
  ASSERT_GT(cores, 0);
  const int ranks = cores + 1;
  Ran r = run_shell("env -u OMP_NUM_THREADS -u SEQMEND_THREADS timeout 60 mpirun -np " + std::to_string(ranks) +
                    " --oversubscribe --allow-run-as-root " + bin() + " info");
  ASSERT_EQ(r.status, 0) << r.output;
  int lines = 0;
  for (size_t at = r.output.find(" threads,"); at != std::string::npos; at = r.output.find(" threads,", at + 1)) {
    const size_t from = r.output.rfind(' ', at - 1) + 1;
    EXPECT_EQ(std::stoi(r.output.substr(from, at - from)), std::max(1, cores / ranks)) << r.output;
    ++lines;
  }
  EXPECT_EQ(lines, ranks) << r.output;
}

TEST_F(PretrainTest, LoaderBatchesDoNotDependOnTheNumberOfRanks) {
  ShardSet set = ShardSet::open(data());
  ASSERT_GE(set.split("train").num_shards(), 3) << "the test wants several shards";
  const int64_t G = 16;
  DataParallelLoader one(set, "train", 0, 1, G, 7, 12);
  DataParallelLoader r0(set, "train", 0, 2, G, 7, 12), r1(set, "train", 1, 2, G, 7, 12);
  EXPECT_EQ(r0.num_samples(), one.num_samples());
  EXPECT_EQ(r1.num_samples(), one.num_samples()) << "every rank holds the whole split";

  double worst = 0;
  for (int64_t epoch : {0, 1}) {
    std::set<int64_t> seen;
    for (int64_t b = 0; b < one.batches_per_epoch(); ++b) {
      const auto ids = one.global_batch_ids(epoch, b);
      ASSERT_EQ(r0.global_batch_ids(epoch, b), ids);
      ASSERT_EQ(r1.global_batch_ids(epoch, b), ids);
      for (int64_t m = 0; m < 3; ++m) {
        // Every id of a micro-batch is dealt to exactly one of the two ranks, with the same sequence,
        // and both ranks compute the same deal.
        auto p0 = r0.local_part(ids, m, 3), p1 = r1.local_part(ids, m, 3), all = one.local_part(ids, m, 3);
        EXPECT_EQ(r0.deal(ids, m, 3), r1.deal(ids, m, 3));
        std::vector<int64_t> both = p0;
        both.insert(both.end(), p1.begin(), p1.end());
        std::sort(both.begin(), both.end());
        std::vector<int64_t> sorted_all = all;
        std::sort(sorted_all.begin(), sorted_all.end());
        EXPECT_EQ(both, sorted_all);
        const int64_t n = int64_t(ids.size());
        EXPECT_EQ(all, std::vector<int64_t>(ids.begin() + n * m / 3, ids.begin() + n * (m + 1) / 3))
            << "one rank gets the whole micro-batch in batch order";
        for (int64_t id : p0) {
          auto a = r0.views({id})[0], c = one.views({id})[0];
          EXPECT_TRUE(std::equal(a.items.begin(), a.items.end(), c.items.begin(), c.items.end()));
        }
        // Greedy longest-first: the ranks' tokens differ by at most the longest sequence dealt.
        int64_t t0 = 0, t1 = 0, longest = 0;
        for (int64_t id : p0) t0 += r0.tokens(id), longest = std::max(longest, r0.tokens(id));
        for (int64_t id : p1) t1 += r1.tokens(id), longest = std::max(longest, r1.tokens(id));
        EXPECT_LE(std::abs(t0 - t1), longest) << "micro-batch " << m << " of batch " << b;
      }
      EXPECT_DOUBLE_EQ(one.token_balance(ids, 3), 1.0);
      worst = std::max(worst, r0.token_balance(ids, 1));
      EXPECT_EQ(r0.token_balance(ids, 1), r1.token_balance(ids, 1));
      seen.insert(ids.begin(), ids.end());
    }
    EXPECT_EQ(int64_t(seen.size()), one.num_samples()) << "each sample once per epoch";
  }
  EXPECT_LT(worst, 1.25) << "16 sequences of 6..40 events (capped at 12) split evenly enough";
  for (int64_t id = 0; id < one.num_samples(); ++id) EXPECT_LE(one.tokens(id), 12);
  EXPECT_NE(one.global_batch_ids(0, 0), one.global_batch_ids(1, 0)) << "a new order per epoch";
  DataParallelLoader other_seed(set, "train", 0, 1, G, 8);
  EXPECT_NE(other_seed.global_batch_ids(0, 0), one.global_batch_ids(0, 0));
}

// A split stored in one shard still trains on every rank, each with an even share of the tokens.
TEST_F(PretrainTest, OneShardIsDealtToEveryRank) {
  const std::string one_shard = path("one_shard");
  Ran r = run_shell(bin() + " simulate --config " SEQMEND_SOURCE_DIR "/experiments/configs/simulate.yaml --out " + one_shard +
                    " simulator.num_users=200 simulator.num_items=80 simulator.num_clusters=4 simulator.length_min=4"
                    " simulator.length_max=300 simulator.length_median=20 write_clean=false fsync=false threads=1");
  ASSERT_EQ(r.status, 0) << r.output;
  ShardSet set = ShardSet::open(one_shard);
  ASSERT_EQ(set.split("train").num_shards(), 1);
  const int world = 4;
  std::vector<DataParallelLoader> ranks;
  for (int k = 0; k < world; ++k) ranks.emplace_back(set, "train", k, world, 64, 3, 50);
  double sum = 0, worst = 0;
  int64_t batches = 0;
  for (int64_t b = 0; b < ranks[0].batches_per_epoch(); ++b) {
    const auto ids = ranks[0].global_batch_ids(0, b);
    if (int64_t(ids.size()) < 64) continue;  // the short last batch
    for (int k = 0; k < world; ++k) EXPECT_FALSE(ranks[size_t(k)].local_part(ids, 0, 1).empty()) << "rank " << k;
    const double bal = ranks[0].token_balance(ids, 1);
    sum += bal;
    worst = std::max(worst, bal);
    ++batches;
  }
  ASSERT_GT(batches, 0);
  EXPECT_LT(sum / double(batches), 1.05) << "mean max/mean tokens per rank";
  EXPECT_LT(worst, 1.2);
  // Training on it says once that the ranks cannot share the reading.
  r = run_shell(mpirun2() + tiny(one_shard, path("one_shard_run")) + " max_steps=6 optim.warmup_steps=1 eval_every=0 eval_test=false");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string said = "the train split has 1 shard(s) for 2 ranks";
  const size_t at = r.output.find(said);
  EXPECT_NE(at, std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(said, at + 1), std::string::npos) << "said once, by rank 0\n" << r.output;
}

// Cache mode: a rank holds at most a budget of decoded shards; the windowed order still visits
// every sample once per epoch, the same on every rank, and the views are the stored sequences.
TEST_F(PretrainTest, CachedLoaderStaysWithinItsBudgetAndSeesEverySampleOnce) {
  ShardSet set = ShardSet::open(data());
  const int64_t S = set.split("train").num_shards();
  ASSERT_GE(S, 3);
  int64_t largest = 0;
  for (const auto& sh : set.split("train").shards) largest = std::max(largest, sh.events * 14 + sh.sequences * 17);
  const int64_t budget = 4 * largest;  // windows of 2 shards
  const int64_t G = 16;
  DataParallelLoader resident(set, "train", 0, 1, G, 7, 12);
  DataParallelLoader c0(set, "train", 0, 2, G, 7, 12, budget), c1(set, "train", 1, 2, G, 7, 12, budget);
  EXPECT_TRUE(c0.cached());
  EXPECT_EQ(c0.window_shards(), 2);
  EXPECT_EQ(c0.num_samples(), resident.num_samples());
  EXPECT_THROW(c0.data(), std::exception);
  for (int64_t epoch : {0, 1}) {
    std::set<int64_t> seen;
    for (int64_t b = 0; b < c0.batches_per_epoch(); ++b) {
      const auto ids = c0.global_batch_ids(epoch, b);
      ASSERT_EQ(c1.global_batch_ids(epoch, b), ids);
      for (int64_t id : ids) EXPECT_EQ(c0.tokens(id), resident.tokens(id));
      const auto mine = c0.local_part(ids, 0, 1);
      const auto got = c0.views(mine), want = resident.views(mine);
      for (size_t i = 0; i < mine.size(); ++i) {
        EXPECT_EQ(got[i].sample_id, mine[i]);
        EXPECT_TRUE(std::equal(got[i].items.begin(), got[i].items.end(), want[i].items.begin(), want[i].items.end()))
            << "sample " << mine[i];
        EXPECT_TRUE(std::equal(got[i].timestamps.begin(), got[i].timestamps.end(), want[i].timestamps.begin(),
                               want[i].timestamps.end()));
      }
      c1.views(c1.local_part(ids, 0, 1));
      seen.insert(ids.begin(), ids.end());
    }
    EXPECT_EQ(int64_t(seen.size()), c0.num_samples()) << "each sample once per epoch";
  }
  EXPECT_LE(c0.peak_bytes(), budget);
  EXPECT_LE(c1.peak_bytes(), budget);
  EXPECT_GT(c0.bytes_read(), 0);
  EXPECT_NE(c0.global_batch_ids(0, 0), c0.global_batch_ids(1, 0));

  // A per-sequence transform gives the same sequences applied per shard as on the whole split.
  auto reverse = [](SequenceSet s) {
    for (int64_t q = 0; q < s.num_sequences(); ++q)
      std::reverse(s.item.begin() + s.offsets[size_t(q)], s.item.begin() + s.offsets[size_t(q) + 1]);
    return s;
  };
  DataParallelLoader t_res(set, "train", 0, 1, G, 7), t_cache(set, "train", 0, 1, G, 7, 0, budget);
  t_res.set_transform(reverse);
  t_cache.set_transform(reverse);
  for (int64_t id = 0; id < t_res.num_samples(); id += 7) {
    const auto a = t_res.views({id})[0], c = t_cache.views({id})[0];
    EXPECT_TRUE(std::equal(a.items.begin(), a.items.end(), c.items.begin(), c.items.end())) << id;
  }
}

// Training with a cache budget: 1 and 2 ranks still give the same losses.
TEST_F(PretrainTest, TwoRanksWithACacheBudgetGiveTheSameLossesAsOne) {
  const std::string a = path("cache1"), b = path("cache2");
  Ran r1 = run_shell(alone() + tiny(data(), a) + " data_cache_mb=0.02");
  ASSERT_EQ(r1.status, 0) << r1.output;
  Ran r2 = run_shell(mpirun2() + tiny(data(), b) + " data_cache_mb=0.02");
  ASSERT_EQ(r2.status, 0) << r2.output;
  expect_same_50_losses(a, b);
}

TEST_F(PretrainTest, OneRankWritesRunDirectoryAndLearns) {
  const std::string run = path("run1");
  Ran r = run_shell(alone() + tiny(data(), run));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("step 50/50"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tok/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("eta"), std::string::npos) << r.output;
  for (const char* f : {"config.yaml", "run.json", "metrics.jsonl", "results.json"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;

  int train_lines = 0;
  for (const auto& j : read_jsonl(run + "/metrics.jsonl")) {
    if (!j.contains("loss")) continue;
    ++train_lines;
    for (const char* k : {"step", "loss", "lr", "grad_norm", "tokens_per_s", "comm_wait_share", "comm_share"})
      EXPECT_TRUE(j.contains(k)) << k << " missing in " << j.dump();
  }
  EXPECT_EQ(train_lines, 50);
  const auto l = losses(run);
  ASSERT_EQ(l.size(), 50u);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += l[size_t(i)], last += l[size_t(40 + i)];
  EXPECT_LT(last, first) << "loss over the last 10 steps should be below the first 10";

  std::ifstream f(run + "/results.json");
  nlohmann::json res = nlohmann::json::parse(f);
  for (const char* split : {"valid", "test"}) {
    ASSERT_TRUE(res.contains(split)) << res.dump();
    for (const char* k : {"hr@10", "ndcg@10", "mrr"}) {
      const double v = res[split][k].get<double>();
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
    EXPECT_LE(res[split]["ndcg@10"].get<double>(), res[split]["hr@10"].get<double>());
    EXPECT_EQ(res[split]["protocol"]["name"], "full");
    EXPECT_EQ(res[split]["num_users"].get<int64_t>(), ShardSet::open(data()).split(split).sequences);
  }
  EXPECT_GT(res["tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(res["train_seconds"].get<double>(), 0.0);
  EXPECT_EQ(res["steps"], 50);
  // The run repeats from its own config.yaml (num_items and total_steps resolved in it).
  std::ifstream cf(run + "/config.yaml");
  std::stringstream ss;
  ss << cf.rdbuf();
  EXPECT_NE(ss.str().find("total_steps: 50"), std::string::npos) << ss.str();
}

TEST_F(PretrainTest, TwoRanksGiveTheSameLossesAsOne) {
  // Dropout on, 2 micro-batches per step, 50 steps: masks and dropout are keyed by (seed, step,
  // sample), the loss is normalised by the global target count, gradients are summed over ranks.
  const std::string a = path("same1"), b = path("same2");
  Ran r1 = run_shell(alone() + tiny(data(), a));
  ASSERT_EQ(r1.status, 0) << r1.output;
  Ran r2 = run_shell(mpirun2() + tiny(data(), b));
  ASSERT_EQ(r2.status, 0) << r2.output;
  expect_same_50_losses(a, b);
  std::ifstream f1(a + "/results.json"), f2(b + "/results.json");
  auto j1 = nlohmann::json::parse(f1), j2 = nlohmann::json::parse(f2);
  EXPECT_EQ(j2["world_size"], 2);
  EXPECT_NEAR(j1["test"]["ndcg@10"].get<double>(), j2["test"]["ndcg@10"].get<double>(), 0.02);
}

TEST_F(PretrainTest, CausalNextItemTrainingLearnsAndAgreesAcrossRanks) {
  // model.objective causal: every event is the target of the ones before it; the evaluator reads the newest
  // event's state. The untrained model ranks the target near V/2; training must do far better.
  const std::string a = path("causal1"), b = path("causal2");
  const std::string causal = " model.objective=causal";
  Ran r1 = run_shell(alone() + tiny(data(), a) + causal);
  ASSERT_EQ(r1.status, 0) << r1.output;
  Ran r2 = run_shell(mpirun2() + tiny(data(), b) + causal);
  ASSERT_EQ(r2.status, 0) << r2.output;
  expect_same_50_losses(a, b);
  const auto l1 = losses(a);
  EXPECT_LT(l1.back(), l1.front() - 0.3) << "loss " << l1.front() << " → " << l1.back();
  std::ifstream f(a + "/results.json");
  auto j = nlohmann::json::parse(f);
  EXPECT_GT(j["test"]["hr@10"].get<double>(), 0.3) << j.dump();  // chance: 10/80

  // last_item_prob belongs to the cloze objective; the detector needs a bidirectional encoder.
  Ran bad = run_shell(alone() + tiny(data(), path("causal_bad")) + causal + " last_item_prob=0.5");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("last_item_prob"), std::string::npos) << bad.output;
  Ran ft = run_shell("timeout 60 " + bin() + " finetune data_dir=" + data() + " run_dir=" + path("causal_ft") +
                     " encoder_checkpoint=" + a + " max_steps=2");
  EXPECT_NE(ft.status, 0);
  EXPECT_NE(ft.output.find("needs a bidirectional cloze encoder"), std::string::npos) << ft.output;

  // A run directory written before model.objective says `causal: true`: still read as causal.
  std::stringstream text;
  text << std::ifstream(a + "/config.yaml").rdbuf();
  std::string yaml = text.str();
  const size_t at = yaml.find("objective: causal");
  ASSERT_NE(at, std::string::npos) << yaml;
  yaml.replace(at, yaml.find('\n', at) - at, "causal: true");
  std::ofstream(a + "/config.yaml") << yaml;
  Ran old = run_shell("timeout 60 " + bin() + " finetune data_dir=" + data() + " run_dir=" + path("causal_ft_old") +
                      " encoder_checkpoint=" + a + " max_steps=2");
  EXPECT_NE(old.status, 0);
  EXPECT_NE(old.output.find("needs a bidirectional cloze encoder"), std::string::npos) << old.output;
}

TEST_F(PretrainTest, GradientAccumulationDoesNotChangeTheStep) {
  const std::string a = path("acc1"), b = path("acc4");
  Ran r1 = run_shell(alone() + tiny(data(), a) + " grad_accum_steps=1 max_steps=20 eval_test=false");
  ASSERT_EQ(r1.status, 0) << r1.output;
  Ran r4 = run_shell(alone() + tiny(data(), b) + " grad_accum_steps=4 max_steps=20 eval_test=false");
  ASSERT_EQ(r4.status, 0) << r4.output;
  const auto l1 = losses(a), l4 = losses(b);
  ASSERT_EQ(l1.size(), 20u);
  ASSERT_EQ(l4.size(), 20u);
  for (size_t i = 0; i < l1.size(); ++i) EXPECT_NEAR(l1[i], l4[i], 1e-4 * l1[i]) << "step " << i + 1;
}

TEST_F(PretrainTest, EarlyStoppingEndsTheRunAndKeepsTheBestValidation) {
  const std::string run = path("early");
  // lr 0 never improves on the first evaluation: patience 2 stops after the third.
  Ran r = run_shell(alone() + tiny(data(), run) + " optim.lr=0 eval_every=5 patience=2 max_steps=50");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("early stop at step 15"), std::string::npos) << r.output;
  std::ifstream f(run + "/results.json");
  auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["early_stopped"], true);
  EXPECT_EQ(j["steps"], 15);
  EXPECT_EQ(j["best_step"], 5);
}

TEST_F(PretrainTest, DamagedShardOnOneRankEndsTheJob) {
  const std::string d = copy_data("damaged");
  {  // overwrite bytes in the middle of shard 1
    const std::string shard = d + "/train-00001.h5";
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(fs::file_size(shard) / 2));
    f.write("garbage!garbage!", 16);
  }
  Ran r = run_shell(mpirun2() + tiny(d, path("damaged_run")));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  // Whichever rank reads the shard first names it (ranks read ahead of their own batches).
  EXPECT_TRUE(r.output.find("seqmend: rank 0 failed: ") != std::string::npos ||
              r.output.find("seqmend: rank 1 failed: ") != std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("train-00001.h5: checksum mismatch"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 30.0);
}

TEST_F(PretrainTest, MissingShardEndsTheJob) {
  const std::string d = copy_data("missing");
  fs::remove(d + "/train-00001.h5");
  Ran r = run_shell(mpirun2() + tiny(d, path("missing_run")));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("train-00001.h5"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 30.0);
}

TEST_F(PretrainTest, NanGradientOnOneRankStopsEveryRank) {
  Ran r = run_shell(mpirun2() + tiny(data(), path("nan_run")) + " debug.nan_grad_step=7 debug.nan_rank=1");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("loss or gradient at step 7"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("failed on rank(s) 1 of 2"), std::string::npos) << "names the rank:\n" << r.output;
  EXPECT_EQ(r.output.find("step 8/50"), std::string::npos) << "no step after the NaN:\n" << r.output;
  EXPECT_LT(r.seconds, 30.0);
}

TEST_F(PretrainTest, RankThatThrowsEndsTheJob) {
  Ran r = run_shell(mpirun2() + tiny(data(), path("throw_run")) + " debug.throw_step=4 debug.throw_rank=1");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("injected failure at step 4"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 30.0);
}

TEST_F(PretrainTest, GpuTrainingMatchesTheCpuOrSaysWhyItCannot) {
  Ran bad = run_shell(alone() + tiny(data(), path("tpu")) + " device=tpu");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("device `tpu`"), std::string::npos) << bad.output;

  const std::string cpu = path("dev_cpu"), gpu = path("dev_cuda");
  Ran g = run_shell(alone() + tiny(data(), gpu) + " device=cuda");
  if (cuda_device_count() == 0) {
    // No GPU here: the run must stop at once and say why, not fall back silently.
    EXPECT_NE(g.status, 0) << g.output;
    EXPECT_NE(g.status, 124) << "hung:\n" << g.output;
    EXPECT_NE(g.output.find("device cuda, but this"), std::string::npos) << g.output;
    GTEST_SKIP() << "no usable GPU: checked the refusal only, not GPU training";
  }
  ASSERT_EQ(g.status, 0) << g.output;
  Ran c = run_shell(alone() + tiny(data(), cpu));
  ASSERT_EQ(c.status, 0) << c.output;
  // Same batches, masks, dropout and initial weights: only float rounding differs.
  const auto lc = losses(cpu), lg = losses(gpu);
  ASSERT_EQ(lc.size(), lg.size());
  for (size_t i = 0; i < lc.size(); ++i) EXPECT_NEAR(lg[i], lc[i], 1e-3 * std::fabs(lc[i])) << "step " << i;
  std::ifstream f1(cpu + "/results.json"), f2(gpu + "/results.json");
  auto j1 = nlohmann::json::parse(f1), j2 = nlohmann::json::parse(f2);
  EXPECT_NEAR(j1["test"]["ndcg@10"].get<double>(), j2["test"]["ndcg@10"].get<double>(), 0.02);
}

TEST_F(PretrainTest, ConfigErrorsNameTheKey) {
  Ran r = run_shell(alone() + " pretrain --config " SEQMEND_SOURCE_DIR "/experiments/configs/pretrain_tiny.yaml run_dir=" +
                    path("x"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("data_dir"), std::string::npos) << r.output;
  r = run_shell(alone() + tiny(data(), path("y")) + " eval_metric=ndcg@7");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("ndcg@7"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace seqmend
