// `seqmend simulate` end to end through the built binary: the shard sets it writes, their labels,
// the clean copy, the repair ground truth, determinism and the error paths.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "io/sequence_set.h"
#include "io/shard_set.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

using test_support::Ran;

// Runs the binary through the shell with stderr folded into the captured output.
Ran run_seqmend(const std::string& args) { return test_support::run_shell(std::string(SEQMEND_BINARY) + " " + args); }

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class SimulateCliTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Small and quick: 300 users, high rates so every anomaly kind shows up.
  static std::string small_args() {
    return "simulator.num_users=300 simulator.num_items=800 simulator.num_clusters=8 inject.noise_rate=0.05 "
           "inject.substitution_rate=0.05 inject.burst_rate=0.02 inject.drop_rate=0.05 inject.bot_rate=0.1 "
           "fsync=false threads=2";
  }

  test::TempDir tmp_{"seqmend_simulate_cli"};
  fs::path dir_ = tmp_.path();
};

void expect_same_split(const std::string& a, const std::string& b, const std::string& split, bool same) {
  SequenceSet x = load_split(a, split), y = load_split(b, split);
  bool equal = x.offsets == y.offsets && x.item == y.item && x.timestamp == y.timestamp && x.action == y.action &&
               x.user == y.user && x.label == y.label && x.seq_label == y.seq_label;
  EXPECT_EQ(equal, same) << split;
}

TEST_F(SimulateCliTest, WritesLabelledSplitsCleanCopyAndTruth) {
  Ran r = run_seqmend("simulate --config " SEQMEND_SOURCE_DIR "/experiments/configs/simulate.yaml --out " + path("out") +
                      " " + small_args());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("300 users + 30 bots"), std::string::npos) << r.output;

  ShardSet set = ShardSet::open(path("out"));
  EXPECT_EQ(set.num_items(), 800);
  for (const char* col : {"timestamp", "action", "label", "seq_label"}) EXPECT_TRUE(set.has_column(col)) << col;
  SequenceSet train = load_split(set, "train"), valid = load_split(set, "valid"), test = load_split(set, "test");
  ASSERT_EQ(test.num_sequences(), 330);
  ASSERT_EQ(train.num_sequences(), 330);
  std::map<int, int64_t> labels, seq_labels;
  for (int8_t l : test.label) ++labels[l];
  for (int8_t l : test.seq_label) ++seq_labels[l];
  for (int code = kLabelNoiseClick; code <= kLabelBotPush; ++code)
    EXPECT_GT(labels[code], 0) << anomaly_label_name(code);
  EXPECT_EQ(seq_labels[kLabelClean], 300);
  EXPECT_EQ(seq_labels[kLabelBotUniform] + seq_labels[kLabelBotPopular] + seq_labels[kLabelBotPush], 30);
  const nlohmann::json& summary = set.extra().at("simulate");
  EXPECT_EQ(summary.at("users").get<int64_t>(), 300);
  EXPECT_EQ(summary.at("label_events").at("noise_click").get<int64_t>(), labels[kLabelNoiseClick]);

  ShardSet clean = ShardSet::open(path("out/clean"));
  SequenceSet ctest = load_split(clean, "test");
  ASSERT_EQ(ctest.num_sequences(), 300);
  for (int8_t l : ctest.label) ASSERT_EQ(l, kLabelClean);
  for (int64_t s = 0; s < test.num_sequences(); ++s) {
    // Leave-one-out: train drops the last two events, valid the last one.
    ASSERT_EQ(train.length(s), test.length(s) - 2);
    ASSERT_EQ(valid.length(s), test.length(s) - 1);
    ASSERT_EQ(train.user[size_t(s)], test.user[size_t(s)]);
    if (s >= 300) continue;
    // Protected tail: the valid and test targets are the clean ones, in both sets.
    ASSERT_EQ(ctest.user[size_t(s)], test.user[size_t(s)]);
    for (int64_t k = 1; k <= 2; ++k)
      ASSERT_EQ(test.item[size_t(test.offsets[size_t(s) + 1] - k)], ctest.item[size_t(ctest.offsets[size_t(s) + 1] - k)]);
  }

  // Ground truth: every dropped row points at a gap-labelled event; substitutions at substitution labels.
  std::istringstream truth(read_text(path("out/repair_truth.tsv")));
  std::string header, kind;
  std::getline(truth, header);
  EXPECT_EQ(header, "kind\tuser\tposition\titem");
  std::map<int64_t, int64_t> row_of_user;
  for (int64_t s = 0; s < test.num_sequences(); ++s) row_of_user[test.user[size_t(s)]] = s;
  int64_t user, pos, item, dropped = 0, substituted = 0;
  while (truth >> kind >> user >> pos >> item) {
    int64_t s = row_of_user.at(user);
    ASSERT_LT(pos, test.length(s));
    int8_t l = test.label[size_t(test.offsets[size_t(s)] + pos)];
    ASSERT_GE(item, 1);
    ASSERT_LE(item, 800);
    if (kind == "dropped") {
      ASSERT_EQ(l, kLabelGapAfter);
      ++dropped;
    } else {
      ASSERT_EQ(kind, "substituted");
      ASSERT_EQ(l, kLabelSubstitution);
      ASSERT_NE(test.item[size_t(test.offsets[size_t(s)] + pos)], item);
      ++substituted;
    }
  }
  EXPECT_EQ(dropped, summary.at("dropped_events").get<int64_t>());
  EXPECT_GE(dropped, labels[kLabelGapAfter]);
  EXPECT_EQ(substituted, labels[kLabelSubstitution]);
  EXPECT_TRUE(fs::exists(path("out/config.yaml")));
  EXPECT_TRUE(fs::exists(path("out/run.json")));
}

TEST_F(SimulateCliTest, SameSeedSameDataOtherSeedOtherData) {
  ASSERT_EQ(run_seqmend("simulate --out " + path("a") + " " + small_args() + " threads=1").status, 0);
  ASSERT_EQ(run_seqmend("simulate --out " + path("b") + " " + small_args() + " threads=3").status, 0);
  ASSERT_EQ(run_seqmend("simulate --out " + path("c") + " " + small_args() + " simulator.seed=2").status, 0);
  ASSERT_EQ(run_seqmend("simulate --out " + path("d") + " " + small_args() + " inject_seed=77").status, 0);
  for (const char* split : {"train", "valid", "test"}) {
    expect_same_split(path("a"), path("b"), split, true);
    expect_same_split(path("a/clean"), path("b/clean"), split, true);
    expect_same_split(path("a"), path("c"), split, false);
    expect_same_split(path("a/clean"), path("c/clean"), split, false);
    // Another injection seed: same clean data, other corruption.
    expect_same_split(path("a/clean"), path("d/clean"), split, true);
    expect_same_split(path("a"), path("d"), split, false);
  }
  EXPECT_EQ(read_text(path("a/repair_truth.tsv")), read_text(path("b/repair_truth.tsv")));
  // Byte for byte: every shard file (only the manifest's creation time may differ).
  int64_t shards = 0;
  for (const char* sub : {"", "clean/"})
    for (const auto& e : fs::directory_iterator(path(std::string("a/") + sub))) {
      if (e.path().extension() != ".h5") continue;
      std::string name = sub + e.path().filename().string();
      EXPECT_EQ(read_text(path("a/" + name)), read_text(path("b/" + name))) << name;
      ++shards;
    }
  // Splits of ~24k events are cut at the 8,192-event minimum: 3–4 shards each, in both sets.
  int64_t listed = 0;
  for (const char* sub : {"a", "a/clean"})
    for (const char* split : {"train", "valid", "test"}) listed += ShardSet::open(path(sub)).split(split).num_shards();
  EXPECT_EQ(shards, listed);
  EXPECT_GE(shards, 18);
}

TEST_F(SimulateCliTest, WorksWithoutTimestampsOrActions) {
  Ran r = run_seqmend("simulate --out " + path("plain") + " " + small_args() +
                      " simulator.timestamps=false simulator.actions=false");
  ASSERT_EQ(r.status, 0) << r.output;
  ShardSet set = ShardSet::open(path("plain"));
  EXPECT_FALSE(set.has_column("timestamp"));
  EXPECT_FALSE(set.has_column("action"));
  EXPECT_TRUE(set.has_column("label"));
  EXPECT_EQ(load_split(set, "test").num_sequences(), 330);
}

TEST_F(SimulateCliTest, ErrorsExitNonZeroWithAMessage) {
  Ran r = run_seqmend("simulate " + small_args());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--out"), std::string::npos) << r.output;

  r = run_seqmend("simulate --out " + path("x") + " simulator.num_user=5");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("num_users"), std::string::npos) << r.output;  // the did-you-mean hint

  r = run_seqmend("simulate --out " + path("x") + " simulator.length_min=50 simulator.length_max=10");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("length_min"), std::string::npos) << r.output;

  std::ofstream(path("busy")) << "";
  fs::create_directories(path("full"));
  std::ofstream(path("full/something.txt")) << "keep me";
  r = run_seqmend("simulate --out " + path("full") + " " + small_args());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("not empty"), std::string::npos) << r.output;
  EXPECT_EQ(read_text(path("full/something.txt")), "keep me");
  r = run_seqmend("simulate --out " + path("busy") + " " + small_args());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("not a directory"), std::string::npos) << r.output;
}

TEST_F(SimulateCliTest, HelpListsTheConfigKeys) {
  Ran r = run_seqmend("simulate --help");
  EXPECT_EQ(r.status, 0);
  for (const char* key : {"--out", "simulator.num_users", "simulator.zipf_exponent", "inject.noise_rate",
                          "inject.protect_last", "write_clean"})
    EXPECT_NE(r.output.find(key), std::string::npos) << key;
}

}  // namespace
}  // namespace seqmend
