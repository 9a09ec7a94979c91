// `seqmend detect` output format (original user and item ids, per-user positions, sequences with
// and without timestamps, sequences longer than max_len), and the surprisal's cost: a fixed number
// of forward passes per batch whatever the sequence lengths, exact leave-one-out where a window is
// no longer than the pass count.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "core/base/rng.h"
#include "core/detector.h"
#include "experiments/cli/finetune_stage.h"
#include "experiments/detect/detector_checkpoint.h"
#include "experiments/detect/detector_scores.h"
#include "experiments/detect/finetune_config.h"
#include "experiments/detect/surprisal.h"
#include "experiments/repair/repair.h"
#include "experiments/run/checkpoint.h"
#include "io/config.h"
#include "io/shard_set.h"
#include "kernels/matmul.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

std::string run_shell(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) cells.push_back(c);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

ModelConfig tiny_model(int64_t V, int T) {
  ModelConfig mc;
  mc.num_items = V;
  mc.max_len = T;
  mc.d_model = 8;
  mc.num_layers = 1;
  mc.num_heads = 2;
  return mc;
}

// A shard set with original ids and a random-weight detector "run" beside it.
void make_fixture(const fs::path& root, bool timestamps, int max_len) {
  SequenceSet s;
  const std::vector<std::vector<int32_t>> seqs = {{1, 2, 3}, {4, 5, 1, 2, 3, 4, 5}, {2, 2}};
  int64_t t = 1000;
  for (size_t u = 0; u < seqs.size(); ++u) {
    std::vector<int64_t> ts;
    for (size_t i = 0; i < seqs[u].size(); ++i) ts.push_back(t += 30);
    s.append(int64_t(u), seqs[u].data(), int64_t(seqs[u].size()), timestamps ? ts.data() : nullptr);
  }
  ManifestInfo info;
  info.source = "detect test";
  info.item_ids = {"apple", "pear", "fig", "kiwi", "plum"};
  info.user_ids = {"u-alice", "u-bob", "u-carol"};
  ShardOptions opt;
  opt.fsync = false;
  write_shard_set((root / "data").string(), info, {{"test", s}}, opt);

  FinetuneConfig cfg;
  cfg.model = tiny_model(5, max_len);
  cfg.detector.heads.hidden = 4;
  fs::create_directories(root / "ft");
  write_config(cfg, (root / "ft" / "config.yaml").string());
  Detector det(cfg.model, cfg.detector);
  DetectorCheckpoint ck;
  ck.thresholds.event = 0.5;
  ck.thresholds.gap = 0.5;
  ck.thresholds.sequence = 0.5;
  write_detector_checkpoint((root / "ft" / "detector.h5").string(), det, ck);
}

class DetectCsv : public ::testing::TestWithParam<std::tuple<bool, int>> {};  // timestamps, max_len

TEST_P(DetectCsv, OriginalIdsAndPositions) {
  const auto [timestamps, max_len] = GetParam();
  const test::TempDir tmp("seqmend_detect");
  const fs::path& root = tmp.path();
  make_fixture(root, timestamps, max_len);
  int st = 0;
  const std::string out = run_shell("timeout 60 " + std::string(SEQMEND_BINARY) + " detect data_dir=" +
                                        (root / "data").string() + " split=test detector_checkpoint=" +
                                        (root / "ft").string() + " run_dir=" + (root / "out").string() +
                                        " surprisal_passes=2 threads=1",
                                    &st);
  ASSERT_EQ(st, 0) << out;
  auto ev = read_csv((root / "out" / "event_scores.csv").string());
  ASSERT_EQ(ev.size(), 1u + 3 + 7 + 2);
  EXPECT_EQ(ev[0], (std::vector<std::string>{"user", "position", "item", "timestamp", "score", "gap_score",
                                             "surprisal"}));
  const std::vector<std::string> names = {"apple", "pear", "fig", "kiwi", "plum"};
  const std::vector<std::pair<std::string, std::vector<int>>> want = {
      {"u-alice", {1, 2, 3}}, {"u-bob", {4, 5, 1, 2, 3, 4, 5}}, {"u-carol", {2, 2}}};
  size_t row = 1;
  int64_t t = 1000;
  for (const auto& [user, items] : want) {
    for (size_t i = 0; i < items.size(); ++i, ++row) {
      t += 30;
      ASSERT_EQ(ev[row].size(), 7u) << row;
      EXPECT_EQ(ev[row][0], user);
      EXPECT_EQ(ev[row][1], std::to_string(i));
      EXPECT_EQ(ev[row][2], names[size_t(items[i]) - 1]);
      EXPECT_EQ(ev[row][3], timestamps ? std::to_string(t) : "");
      for (int c = 4; c < 7; ++c) {
        const double x = std::stod(ev[row][size_t(c)]);
        EXPECT_TRUE(std::isfinite(x));
        if (c < 6) EXPECT_TRUE(x > 0.0 && x < 1.0) << x;
        else EXPECT_GT(x, 0.0);  // −log p of one item out of five, never certain
      }
    }
  }
  auto sq = read_csv((root / "out" / "sequence_scores.csv").string());
  ASSERT_EQ(sq.size(), 4u);
  EXPECT_EQ(sq[0], (std::vector<std::string>{"user", "score"}));
  EXPECT_EQ(sq[1][0], "u-alice");
  EXPECT_EQ(sq[3][0], "u-carol");
  EXPECT_TRUE(fs::exists(root / "out" / "scores.h5"));
  EXPECT_FALSE(fs::exists(root / "out" / "detection.json"));  // no labels, no metrics
}

// max_len 4 cuts u-bob's 7 events into two windows.
INSTANTIATE_TEST_SUITE_P(TimestampsAndWindows, DetectCsv,
                         ::testing::Values(std::tuple{true, 16}, std::tuple{false, 16}, std::tuple{true, 4},
                                           std::tuple{false, 4}));

SequenceSet random_set(int64_t n, int64_t len, int64_t V, uint64_t seed) {
  SequenceSet s;
  Rng r(seed);
  for (int64_t u = 0; u < n; ++u) {
    std::vector<int32_t> it;
    for (int64_t i = 0; i < len; ++i) it.push_back(int32_t(1 + r.below(uint64_t(V))));
    s.append(u, it.data(), len);
  }
  return s;
}

TEST(Surprisal, ForwardPassesDoNotGrowWithSequenceLength) {
  const int64_t V = 30;
  ItemTransformer model(tiny_model(V, 256));
  SurprisalOptions opt;
  opt.passes = 8;
  opt.batch_size = 16;
  for (int64_t len : {8, 40, 200}) {
    SequenceSet s = random_set(16, len, V, uint64_t(len));
    SurprisalResult r = event_surprisal(model, s, opt);
    EXPECT_EQ(r.batches, 1) << len;
    EXPECT_EQ(r.forward_passes, 8) << len;  // k passes per batch, whatever T
    ASSERT_EQ(int64_t(r.surprisal.size()), 16 * len);
    for (float x : r.surprisal) ASSERT_TRUE(std::isfinite(x) && x > 0.0f) << len;
  }
  // A batch of sequences shorter than k needs only as many passes as its longest window.
  SurprisalResult r = event_surprisal(model, random_set(4, 3, V, 9), opt);
  EXPECT_EQ(r.forward_passes, 3);
}

TEST(Surprisal, ShortWindowsAreExactLeaveOneOut) {
  const int64_t V = 20;
  ModelConfig mc = tiny_model(V, 16);
  ItemTransformer model(mc);
  SequenceSet s = random_set(3, 5, V, 4);
  SurprisalResult r = event_surprisal(model, s, {8, 2});  // len 5 <= k: one masked event per pass
  for (int64_t q = 0; q < s.num_sequences(); ++q) {
    for (int64_t j = 0; j < 5; ++j) {
      const size_t e = size_t(s.offsets[size_t(q)] + j);
      SequenceView v{std::span<const int32_t>(s.item).subspan(size_t(s.offsets[size_t(q)]), 5), {}, {}, 0};
      Batch b = make_plain_batch({v}, mc);
      b.item[size_t(j)] = int32_t(mc.mask_token());
      Tensor h = model.hidden_at(b, {j});
      std::vector<float> z(static_cast<size_t>(V));
      matmul_forward(Device::CPU, z.data(), h.data<float>(), model.params().param_ptr("emb.item") + mc.d_model,
                     model.params().param_ptr("out.bias") + 1, 1, mc.d_model, int(V));
      double mx = z[0], sum = 0;
      for (float x : z) mx = std::max(mx, double(x));
      for (float x : z) sum += std::exp(double(x) - mx);
      const double want = mx + std::log(sum) - double(z[size_t(s.item[e]) - 1]);
      EXPECT_NEAR(r.surprisal[e], want, 1e-4) << "sequence " << q << " event " << j;
    }
  }
}

std::string file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A labelled shard set of 40 sequences (1–25 events, timestamps) at ROOT/data and a detector with
// random weights at ROOT/ft whose thresholds (0.5) flag about half of everything.
void write_data_and_detector(const fs::path& root, int64_t V) {
  SequenceSet s;
  Rng rng(11);
  for (int64_t u = 0; u < 40; ++u) {
    const int64_t n = 1 + int64_t(rng.below(25));
    std::vector<int32_t> items;
    std::vector<int8_t> labels;
    std::vector<int64_t> ts;
    for (int64_t i = 0; i < n; ++i) {
      items.push_back(int32_t(1 + rng.below(uint64_t(V))));
      labels.push_back(int8_t(rng.below(6) == 0 ? 1 : 0));
      ts.push_back(1000 + 60 * i + int64_t(rng.below(30)));
    }
    s.append(u, items.data(), n, ts.data(), nullptr, labels.data(), int8_t(u % 7 == 0));
  }
  ManifestInfo info;
  info.num_items = V;
  ShardOptions opt;
  opt.fsync = false;
  opt.target_shards = 3;  // shards read by both ranks
  opt.min_events_per_shard = 1;
  write_shard_set((root / "data").string(), info, {{"test", s}}, opt);
  FinetuneConfig cfg;
  cfg.model = tiny_model(V, 8);
  cfg.detector.heads.hidden = 4;
  fs::create_directories(root / "ft");
  write_config(cfg, (root / "ft" / "config.yaml").string());
  Detector det(cfg.model, cfg.detector);
  DetectorCheckpoint ck;
  ck.thresholds.event = ck.thresholds.gap = ck.thresholds.sequence = 0.5;
  write_detector_checkpoint((root / "ft" / "detector.h5").string(), det, ck);
  // The detector's encoder as a pretraining checkpoint: repair's masked-item predictor.
  fs::create_directories(root / "pre");
  write_config(cfg, (root / "pre" / "config.yaml").string());
  write_checkpoint((root / "pre" / checkpoint_file_name(1)).string(), det.encoder().params(), TrainingState{});
}

const char* kMpirun2 = "timeout 60 mpirun -np 2 --oversubscribe --allow-run-as-root ";

// Detection scores every rank's share of the batches; rank 0 writes. The files must be the same
// bytes for 1 and 2 ranks — many batches, sequences longer than max_len (windows of one sequence
// scored on different ranks), labels (detection.json) and the surprisal.
TEST(DetectRanks, TwoRanksWriteTheSameBytesAsOne) {
  const test::TempDir tmp("seqmend_detect_ranks");
  const fs::path& root = tmp.path();
  write_data_and_detector(root, 30);
  const std::string args = std::string(SEQMEND_BINARY) + " detect data_dir=" + (root / "data").string() +
                           " split=test detector_checkpoint=" + (root / "ft").string() +
                           " surprisal_passes=3 batch_size=3 threads=1 run_dir=";
  int st = 0;
  std::string out = run_shell("timeout 60 " + args + (root / "one").string(), &st);
  ASSERT_EQ(st, 0) << out;
  out = run_shell(kMpirun2 + args + (root / "two").string(), &st);
  ASSERT_EQ(st, 0) << out;
  for (const char* f : {"scores.h5", "event_scores.csv", "sequence_scores.csv", "detection.json"}) {
    const std::string a = file_bytes(root / "one" / f), b = file_bytes(root / "two" / f);
    EXPECT_FALSE(a.empty()) << f;
    EXPECT_TRUE(a == b) << f << " differs between 1 and 2 ranks";
  }
}

// Repair asks the model for every replacement and backfill, in shares over the ranks; rank 0 writes.
// Hundreds of queries (several predictor batches; the random detector flags nearly every sequence
// as a bot, so quarantine is off): the repaired shards, edits.csv and the statistics must be the
// same bytes for 1 and 2 ranks.
TEST(RepairRanks, TwoRanksWriteTheSameBytesAsOne) {
  const test::TempDir tmp("seqmend_repair_ranks");
  const fs::path& root = tmp.path();
  write_data_and_detector(root, 30);
  int st = 0;
  std::string out = run_shell("timeout 60 " + std::string(SEQMEND_BINARY) + " detect data_dir=" +
                                  (root / "data").string() + " split=test detector_checkpoint=" + (root / "ft").string() +
                                  " surprisal=false write_csv=false threads=1 run_dir=" + (root / "det").string(),
                              &st);
  ASSERT_EQ(st, 0) << out;
  const std::string args = std::string(SEQMEND_BINARY) + " repair data_dir=" + (root / "data").string() +
                           " scores_test=" + (root / "det" / "scores.h5").string() + " encoder_checkpoint=" +
                           (root / "pre").string() + " predictor=model repair.replace_min_prob=0 repair.quarantine=false"
                           " repair.min_expected_precision=0 fsync=false out_dir=";
  out = run_shell("timeout 60 " + args + (root / "one").string(), &st);
  ASSERT_EQ(st, 0) << out;
  out = run_shell(kMpirun2 + args + (root / "two").string(), &st);
  ASSERT_EQ(st, 0) << out;
  const nlohmann::json stats = nlohmann::json::parse(file_bytes(root / "one" / "repair.json"))["stats"]["test"];
  EXPECT_GT(stats["counts"]["replace"].get<int64_t>() + stats["counts"]["insert"].get<int64_t>(),
            2 * kPredictorBatch) << stats.dump();
  // Every file but the manifests (they hold their creation time) is compared whole; the manifests
  // without it.
  auto manifest = [](const fs::path& p) {
    nlohmann::json m = nlohmann::json::parse(file_bytes(p));
    m.erase("created");
    return m;
  };
  int64_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root / "one")) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), root / "one");
    ASSERT_TRUE(fs::exists(root / "two" / rel)) << rel;
    ++files;
    if (rel.filename() == "manifest.json")
      EXPECT_EQ(manifest(e.path()), manifest(root / "two" / rel)) << rel;
    else
      EXPECT_TRUE(file_bytes(e.path()) == file_bytes(root / "two" / rel)) << rel << " differs between 1 and 2 ranks";
  }
  EXPECT_GE(files, 5);  // repaired shard, manifest, quarantine/manifest.json, edits.csv, repair.json
}

}  // namespace
}  // namespace seqmend
