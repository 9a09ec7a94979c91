// `seqmend corrupt` (anomalies injected into an ingested shard set) through the built binary and
// in-process: label rates, the clean copy, genuine leave-one-out targets, original ids, determinism,
// error paths, the pipeline's data stage with a corrupt section, and MovieLens-100K when present.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "experiments/cli/corrupt_stage.h"
#include "experiments/eval/corrupted_set.h"
#include "io/sequence_set.h"
#include "io/shard_set.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

using test_support::Ran;
using test_support::run_shell;

Ran run_seqmend(const std::string& args) { return run_shell("timeout 120 " + std::string(SEQMEND_BINARY) + " " + args); }

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A log with string ids: 240 users, 15..45 events each over 300 items, popularity skewed.
std::string small_log() {
  std::mt19937 gen(7);
  std::ostringstream os;
  os << "user_id,item_id,timestamp\n";
  for (int u = 0; u < 240; ++u) {
    int len = 15 + int(gen() % 31);
    int64_t t = 1700000000 + u * 1000;
    for (int i = 0; i < len; ++i) {
      int item = int(gen() % 300);
      if (gen() % 2) item = item % 40;  // popular head
      t += 1 + int64_t(gen() % 600);
      os << "user-" << u << ",sku-" << item << "," << t << "\n";
    }
  }
  return os.str();
}

// The rates the tests ask for; burst off so every inserted event is a noise click.
const char* kRates =
    "inject.noise_rate=0.1 inject.drop_rate=0.05 inject.substitution_rate=0.04 inject.burst_rate=0 "
    "inject.bot_rate=0.05 fsync=false threads=2";

class CorruptTest : public ::testing::Test {
 protected:
 public:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 protected:

  // Ingests small_log() into <dir>/in (leave-one-out, string ids kept in the manifest).
  std::string ingest_small() {
    std::ofstream(path("log.csv")) << small_log();
    Ran r = run_seqmend("ingest --format csv --input " + path("log.csv") + " --out " + path("in") +
                        " parse.string_ids=true fsync=false");
    EXPECT_EQ(r.status, 0) << r.output;
    return path("in");
  }

  test::TempDir tmp_{"seqmend_corrupt"};
  fs::path dir_ = tmp_.path();
};

bool same_sequences(const SequenceSet& x, const SequenceSet& y) {
  return x.offsets == y.offsets && x.item == y.item && x.timestamp == y.timestamp && x.action == y.action &&
         x.user == y.user;
}

// user id → last item of each sequence of a split.
std::map<int64_t, std::pair<int32_t, int64_t>> last_events(const SequenceSet& s) {
  std::map<int64_t, std::pair<int32_t, int64_t>> out;
  for (int64_t i = 0; i < s.num_sequences(); ++i) {
    const size_t e = size_t(s.offsets[size_t(i) + 1] - 1);
    out[s.user[size_t(i)]] = {s.item[e], s.timestamp.empty() ? 0 : s.timestamp[e]};
  }
  return out;
}

TEST_F(CorruptTest, LabelsAtTheRequestedRatesCleanCopyGenuineTargetsOriginalIds) {
  const std::string in = ingest_small();
  Ran r = run_seqmend("corrupt --input " + in + " --out " + path("out") + " " + kRates);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("corrupt: wrote"), std::string::npos) << r.output;

  ShardSet input = ShardSet::open(in), out = ShardSet::open(path("out")), clean = ShardSet::open(path("out/clean"));
  ASSERT_TRUE(out.has_column("label"));
  ASSERT_TRUE(out.has_column("seq_label"));
  EXPECT_EQ(out.extra()["split"]["method"], "leave_one_out");
  EXPECT_TRUE(out.extra().contains("ingest"));  // the input's record is carried over

  // Label counts: what the manifest says is what the shards hold, and near the requested rates.
  const nlohmann::json s = out.extra()["corrupt"];
  SequenceSet full = load_split(out, "test"), input_full = load_split(input, "test");
  std::array<int64_t, 8> events{}, seqs{};
  for (int8_t c : full.label) ++events[size_t(c)];
  for (int8_t c : full.seq_label) ++seqs[size_t(c)];
  EXPECT_EQ(label_table(events), s["label_events"]);
  EXPECT_EQ(label_table(seqs), s["label_sequences"]);
  const double clean_events = double(input_full.num_events());
  ASSERT_EQ(s["clean_events"].get<int64_t>(), input_full.num_events());
  ASSERT_EQ(s["users"].get<int64_t>(), input_full.num_sequences());
  // protect_last = 2 keeps the last two events of ~30 out of reach, so a little under the rate.
  const double noise = double(events[kLabelNoiseClick]) / clean_events;
  EXPECT_GT(noise, 0.075) << s.dump();
  EXPECT_LT(noise, 0.115) << s.dump();
  const double dropped = double(s["dropped_events"].get<int64_t>()) / clean_events;
  EXPECT_GT(dropped, 0.035) << s.dump();
  EXPECT_LT(dropped, 0.06) << s.dump();
  const double subst = double(events[kLabelSubstitution]) / clean_events;
  EXPECT_GT(subst, 0.025) << s.dump();
  EXPECT_LT(subst, 0.05) << s.dump();
  EXPECT_EQ(events[kLabelBurstRepeat], 0);
  EXPECT_GE(s["bots"].get<int64_t>(), 6);
  EXPECT_LE(s["bots"].get<int64_t>(), 20);
  EXPECT_GT(events[kLabelGapAfter], 0);
  EXPECT_LE(events[kLabelGapAfter], s["dropped_events"].get<int64_t>());

  // repair_truth.tsv: one row per dropped event and per substitution.
  std::istringstream truth(read_text(path("out/repair_truth.tsv")));
  std::string line;
  std::getline(truth, line);
  EXPECT_EQ(line, "kind\tuser\tposition\titem");
  int64_t dropped_rows = 0, subst_rows = 0;
  while (std::getline(truth, line)) {
    dropped_rows += line.rfind("dropped\t", 0) == 0;
    subst_rows += line.rfind("substituted\t", 0) == 0;
  }
  EXPECT_EQ(dropped_rows, s["dropped_events"].get<int64_t>());
  EXPECT_EQ(subst_rows, events[kLabelSubstitution]);

  // clean/ holds the input's sequences, split the same way, labels all clean.
  for (const char* split : {"train", "valid", "test"}) {
    SequenceSet a = load_split(input, split), b = load_split(clean, split);
    EXPECT_TRUE(same_sequences(a, b)) << split;
    for (int8_t c : b.label) ASSERT_EQ(c, kLabelClean) << split;
  }

  // protect_last = 2: every real user's valid and test targets are the same events in both sets.
  for (const char* split : {"valid", "test"}) {
    auto corrupted = last_events(load_split(out, split)), genuine = last_events(load_split(clean, split));
    int64_t compared = 0;
    for (const auto& [user, ev] : genuine) {
      ASSERT_TRUE(corrupted.count(user)) << split << " user " << user;
      EXPECT_EQ(corrupted[user], ev) << split << " user " << user;
      ++compared;
    }
    EXPECT_EQ(compared, input_full.num_sequences());
  }

  // Original ids: the item table as is; the user table extended by the bots.
  EXPECT_EQ(out.item_ids(), input.item_ids());
  EXPECT_EQ(clean.item_ids(), input.item_ids());
  EXPECT_EQ(clean.user_ids(), input.user_ids());
  ASSERT_EQ(out.user_ids().size(), input.user_ids().size() + s["bots"].get<size_t>());
  for (size_t u = 0; u < input.user_ids().size(); ++u) ASSERT_EQ(out.user_ids()[u], input.user_ids()[u]);
  EXPECT_EQ(out.user_ids().back(), "bot-" + std::to_string(s["bots"].get<int64_t>()));
  EXPECT_EQ(input.user_ids()[size_t(full.user[0])].rfind("user-", 0), 0u);
  for (int64_t i = 0; i < full.num_sequences(); ++i) {
    const bool bot = full.seq_label[size_t(i)] != kLabelClean;
    EXPECT_EQ(out.user_ids()[size_t(full.user[size_t(i)])].rfind(bot ? "bot-" : "user-", 0), 0u) << i;
  }

  EXPECT_TRUE(fs::is_regular_file(path("out/config.yaml")));
  EXPECT_TRUE(fs::is_regular_file(path("out/run.json")));
  EXPECT_NE(read_text(path("out/config.yaml")).find("noise_rate: 0.1"), std::string::npos);
}

TEST_F(CorruptTest, SameSeedSameFilesOtherSeedOtherCorruption) {
  const std::string in = ingest_small();
  ASSERT_EQ(run_seqmend("corrupt --input " + in + " --out " + path("a") + " " + kRates + " threads=1").status, 0);
  ASSERT_EQ(run_seqmend("corrupt --input " + in + " --out " + path("b") + " " + kRates + " threads=3").status, 0);
  ASSERT_EQ(run_seqmend("corrupt --input " + in + " --out " + path("c") + " " + kRates + " seed=9").status, 0);
  EXPECT_EQ(read_text(path("a/repair_truth.tsv")), read_text(path("b/repair_truth.tsv")));
  EXPECT_NE(read_text(path("a/repair_truth.tsv")), read_text(path("c/repair_truth.tsv")));
  // Byte for byte: every shard file (the manifests differ only in their creation time).
  int64_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(path("a"))) {
    if (e.path().extension() != ".h5") continue;
    const std::string rel = fs::relative(e.path(), path("a")).string();
    EXPECT_EQ(read_text(e.path().string()), read_text(path("b/" + rel))) << rel;
    ++files;
  }
  EXPECT_GE(files, 6);
  EXPECT_NE(read_text(path("a/test-00000.h5")), read_text(path("c/test-00000.h5")));
  EXPECT_EQ(read_text(path("a/clean/test-00000.h5")), read_text(path("c/clean/test-00000.h5")));
}

TEST_F(CorruptTest, BadConfigAndBadInputFailNamingTheCause) {
  const std::string in = ingest_small();
  Ran r = run_seqmend("corrupt --input " + in + " --out " + path("o1") + " inject.noise_rte=0.1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("inject.noise_rte"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("noise_rate"), std::string::npos) << r.output;  // did you mean
  EXPECT_FALSE(fs::exists(path("o1/manifest.json")));

  std::ofstream(path("bad.yaml")) << "inject:\n  drop_rate: 0.05\n  protect_lst: 2\n";
  r = run_seqmend("corrupt --config " + path("bad.yaml") + " --input " + in + " --out " + path("o2"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("inject.protect_lst"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("bad.yaml"), std::string::npos) << r.output;

  r = run_seqmend("corrupt --input " + in + " --out " + path("o3") + " inject.noise_rate=2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("inject.noise_rate"), std::string::npos) << r.output;

  // Already labelled input, the input itself as output, a temporal split, no --input.
  ASSERT_EQ(run_seqmend("corrupt --input " + in + " --out " + path("once") + " " + kRates).status, 0);
  r = run_seqmend("corrupt --input " + path("once") + " --out " + path("twice"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("already has"), std::string::npos) << r.output;
  r = run_seqmend("corrupt --input " + in + " --out " + in + " overwrite=true");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("is the input directory"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_regular_file(in + "/manifest.json"));
  ASSERT_EQ(run_seqmend("ingest --format csv --input " + path("log.csv") + " --out " + path("temporal") +
                        " parse.string_ids=true split.method=temporal fsync=false")
                .status,
            0);
  r = run_seqmend("corrupt --input " + path("temporal") + " --out " + path("o4"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("leave_one_out"), std::string::npos) << r.output;
  r = run_seqmend("corrupt --out " + path("o5"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--input"), std::string::npos) << r.output;
}

// A re-run with overwrite that fails stays away from the previous output: here the hidden truth's
// place is taken by a file, and the earlier visible-truth output (clean/, repair_truth.tsv) must
// survive whole. Then a good overwrite replaces it with nothing of the old layout left.
TEST_F(CorruptTest, FailingOverwriteKeepsThePreviousOutputWhole) {
  const std::string in = ingest_small();
  ASSERT_EQ(run_seqmend("corrupt --input " + in + " --out " + path("out") + " fsync=false " + kRates).status, 0);
  std::ofstream(path("out.truth")) << "not a directory";
  Ran r = run_seqmend("corrupt --input " + in + " --out " + path("out") + " fsync=false overwrite=true hide_truth=true " +
                      kRates + " inject.bot_rate=0");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("is not a directory"), std::string::npos) << r.output;
  EXPECT_TRUE(ShardSet::open(path("out")).has_column("label"));
  EXPECT_NO_THROW(ShardSet::open(path("out/clean")));
  EXPECT_TRUE(fs::is_regular_file(path("out/repair_truth.tsv")));
  fs::remove(path("out.truth"));
  r = run_seqmend("corrupt --input " + in + " --out " + path("out") + " fsync=false overwrite=true hide_truth=true " +
                  kRates + " inject.bot_rate=0");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(ShardSet::open(path("out")).has_column("label"));
  EXPECT_FALSE(fs::exists(path("out/clean"))) << "the old layout's truth went with the old output";
  EXPECT_FALSE(fs::exists(path("out/repair_truth.tsv")));
  EXPECT_NO_THROW(ShardSet::open(path("out.truth/clean")));
  // Back to visible truth: the hidden truth of the run before is not left beside DIR.
  ASSERT_EQ(run_seqmend("corrupt --input " + in + " --out " + path("out") + " fsync=false overwrite=true " + kRates).status,
            0);
  EXPECT_FALSE(fs::exists(path("out.truth")));
  EXPECT_TRUE(ShardSet::open(path("out")).has_column("label"));
}

// The simulator's clean copy as input: no user or item tables, bots numbered after the users.
TEST_F(CorruptTest, InProcessOnASimulatedCleanSet) {
  Ran sim = run_seqmend("simulate --out " + path("sim") +
                        " simulator.num_users=150 simulator.num_items=300 simulator.num_clusters=6 fsync=false");
  ASSERT_EQ(sim.status, 0) << sim.output;
  CorruptConfig cfg;
  cfg.inject.noise_rate = 0.1;
  cfg.inject.bot_rate = 0.1;
  cfg.fsync = false;
  cfg.threads = 1;
  nlohmann::json s = run_corrupt(cfg, path("sim/clean"), path("out"));
  ShardSet out = ShardSet::open(path("out"));
  EXPECT_EQ(out.num_items(), 300);
  EXPECT_TRUE(out.user_ids().empty());
  SequenceSet full = load_split(out, "test");
  EXPECT_EQ(full.num_sequences(), s["users"].get<int64_t>() + s["bots"].get<int64_t>());
  EXPECT_EQ(full.num_events(), s["events"].get<int64_t>());
  std::set<int64_t> users(full.user.begin(), full.user.end());
  EXPECT_EQ(int64_t(users.size()), full.num_sequences());  // bots do not reuse a user id
  for (const char* split : {"train", "valid", "test"})
    EXPECT_TRUE(same_sequences(load_split(path("sim/clean"), split), load_split(path("out/clean"), split))) << split;
  // A second run into the same directory needs overwrite.
  EXPECT_THROW(run_corrupt(cfg, path("sim/clean"), path("out")), std::exception);
  cfg.overwrite = true;
  EXPECT_EQ(run_corrupt(cfg, path("sim/clean"), path("out")), s);
}

// repair_truth.tsv from a hand-made injection result: positions in the corrupted sequence.
TEST(CorruptedSet, RepairTruthNamesGapPositionsAndSubstitutedOriginals) {
  SequenceSet clean;
  const int32_t items[] = {1, 2, 3, 4, 5};
  clean.append(7, items, 5);
  InjectionResult r;
  const int32_t out_items[] = {1, 3, 9, 5};  // 2 dropped before 3; 4 replaced by 9
  const int8_t labels[] = {kLabelClean, kLabelGapAfter, kLabelSubstitution, kLabelClean};
  r.data.append(7, out_items, 4, nullptr, nullptr, labels);
  r.source_sequence = {0};
  r.source_event = {0, 2, 3, 4};
  r.dropped_offsets = {0, 1};
  r.dropped_item = {2};
  r.dropped_before = {1};
  r.dropped_source_event = {1};
  EXPECT_EQ(repair_truth_tsv(clean, r), "kind\tuser\tposition\titem\ndropped\t7\t1\t2\nsubstituted\t7\t2\t4\n");
  SplitSets splits = leave_one_out(clean);
  EXPECT_EQ(splits.train.num_events(), 3);
  EXPECT_EQ(splits.valid.num_events(), 4);
  EXPECT_EQ(splits.test.num_events(), 5);
}

// `seqmend run` with data: ingest and a corrupt section: data/set is laid out as simulate's.
TEST_F(CorruptTest, PipelineDataStageIngestsThenCorruptsAndKeysOnTheCorruptSection) {
  std::ofstream(path("log.csv")) << small_log();
  auto yaml = [&](const std::string& seed) {
    return "run_dir: " + path("run") + "\ndata: ingest\ningest:\n  format: csv\n  input: " + path("log.csv") +
           "\n  parse: {string_ids: true}\n  fsync: false\ncorrupt:\n  inject: {noise_rate: 0.1, drop_rate: 0.05, "
           "bot_rate: 0}\n  seed: " +
           seed + "\n  fsync: false\n";
  };
  std::ofstream(path("p.yaml")) << yaml("3");
  Ran r = run_seqmend("run " + path("p.yaml") + " --stop-after data");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* f : {"/data/set/manifest.json", "/data/set/clean/manifest.json", "/data/set/repair_truth.tsv",
                        "/data/ingest/manifest.json", "/data/corrupt.yaml", "/data/done.json"})
    EXPECT_TRUE(fs::is_regular_file(path("run") + f)) << f;
  ShardSet set = ShardSet::open(path("run/data/set"));
  EXPECT_TRUE(set.has_column("label"));
  EXPECT_EQ(set.extra()["corrupt"]["inject_seed"], 3);
  EXPECT_EQ(set.extra()["corrupt"]["bots"], 0);
  EXPECT_TRUE(same_sequences(load_split(path("run/data/ingest"), "test"), load_split(path("run/data/set/clean"), "test")));
  const std::string truth = read_text(path("run/data/set/repair_truth.tsv"));

  r = run_seqmend("run " + path("p.yaml") + " --stop-after data");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("unchanged"), std::string::npos) << r.output;

  std::ofstream(path("p.yaml")) << yaml("4");  // only the corrupt section changes
  r = run_seqmend("run " + path("p.yaml") + " --stop-after data");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("unchanged"), std::string::npos) << r.output;
  EXPECT_NE(read_text(path("run/data/set/repair_truth.tsv")), truth);

  std::ofstream(path("bad.yaml")) << "run_dir: " + path("run2") + "\ndata: simulate\ncorrupt: {seed: 1}\n";
  r = run_seqmend("run " + path("bad.yaml") + " --stop-after data");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("corrupt section needs data: ingest"), std::string::npos) << r.output;

  std::ofstream(path("bad2.yaml")) << yaml("3") + "  inject_rate: 1\n";
  r = run_seqmend("run " + path("bad2.yaml") + " --stop-after data");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("inject_rate"), std::string::npos) << r.output;
}

// hide_truth on the pipeline's corrupt section: data/set is the unlabelled log alone; the labelled
// set, the clean copy, the repair truth, the corrupt config (its seed) and the ingested log itself
// all sit in data/set.truth.
TEST_F(CorruptTest, PipelineWithHiddenTruthKeepsEveryTruthOutOfTheDataSet) {
  std::ofstream(path("log.csv")) << small_log();
  std::ofstream(path("p.yaml")) << "run_dir: " + path("run") + "\ndata: ingest\ningest:\n  format: csv\n  input: " +
                                        path("log.csv") +
                                        "\n  parse: {string_ids: true}\n  fsync: false\ncorrupt:\n  inject: {mode: "
                                        "edit, bot_rate: 0}\n  seed: 5\n  fsync: false\n  hide_truth: true\n";
  Ran r = run_seqmend("run " + path("p.yaml") + " --stop-after data");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string set = path("run/data/set"), truth = path("run/data/set.truth");
  for (const char* f : {"/clean", "/repair_truth.tsv", "/config.yaml", "/run.json"})
    EXPECT_FALSE(fs::exists(set + f)) << f;
  EXPECT_FALSE(fs::exists(path("run/data/ingest")));
  for (const char* f : {"/manifest.json", "/clean/manifest.json", "/repair_truth.tsv", "/config.yaml",
                        "/ingest/manifest.json"})
    EXPECT_TRUE(fs::is_regular_file(truth + f)) << f;
  ShardSet seen = ShardSet::open(set);
  EXPECT_FALSE(seen.has_column("label"));
  EXPECT_FALSE(seen.extra().contains("corrupt"));
  EXPECT_TRUE(seen.extra().contains("noisy_log"));
  ShardSet labelled = ShardSet::open(truth);
  EXPECT_TRUE(labelled.has_column("label"));
  EXPECT_EQ(labelled.extra()["corrupt"]["inject_seed"], 5);
  EXPECT_EQ(load_split(set, "test").item, load_split(truth, "test").item);
  EXPECT_TRUE(same_sequences(load_split(truth + "/ingest", "test"), load_split(truth + "/clean", "test")));

  // Bots would give themselves away by their ids and place: refused.
  std::ofstream(path("bots.yaml")) << "run_dir: " + path("run3") + "\ndata: ingest\ningest:\n  format: csv\n  input: " +
                                          path("log.csv") +
                                          "\n  parse: {string_ids: true}\ncorrupt:\n  inject: {bot_rate: 0.1}\n  "
                                          "hide_truth: true\n";
  r = run_seqmend("run " + path("bots.yaml") + " --stop-after data");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("hide_truth with inject.bot_rate"), std::string::npos) << r.output;
}

// The pipeline sections after `ingest:` for the whole-pipeline tests: 10 % noise and 5 % drops, a
// one-layer d=16 model, a few steps per stage; `repair_policies` goes into repair.repair, which has
// no precision floor (a detector fine-tuned for 4 steps is imprecise; the tests want its edits).
std::string tiny_stages_after_ingest(const std::string& repair_policies) {
  return "corrupt: {inject: {noise_rate: 0.1, drop_rate: 0.05, substitution_rate: 0, burst_rate: 0, bot_rate: 0},"
         " fsync: false}\n"
         "pretrain:\n"
         "  model: {max_len: 16, d_model: 16, num_layers: 1, num_heads: 2}\n"
         "  global_batch_size: 16\n  max_steps: 8\n  eval_every: 4\n  log_every: 2\n  threads: 1\n"
         "finetune: {labels: inject, inject: {noise_rate: 0.1, drop_rate: 0.05, bot_rate: 0},"
         " global_batch_size: 16, max_steps: 4, log_every: 2, threads: 1}\n"
         "detect: {surprisal_passes: 2, threads: 1}\n"
         "repair: {repair: {protect_last: 2, min_expected_precision: 0, " +
         repair_policies +
         "}}\n"
         "evaluate: {}\n";
}

// Writes `file`, a pipeline that ingests `input` (`format`, parse options `parse`) into `run_dir`
// followed by tiny_stages_after_ingest, and runs it.
Ran run_ingest_pipeline(const std::string& file, const std::string& run_dir, const std::string& format,
                        const std::string& input, const std::string& parse, const std::string& repair_policies) {
  std::ofstream(file) << "run_dir: " + run_dir + "\ndata: ingest\ningest: {format: " + format + ", input: " + input +
                             ", parse: {" + parse + "}, fsync: false}\n" + tiny_stages_after_ingest(repair_policies);
  return run_shell("timeout 300 " + std::string(SEQMEND_BINARY) + " run " + file);
}

// Every later stage on ingested + corrupted data, unchanged: finetune's fresh anomalies go onto the
// clean copy, repair is scored against repair_truth.tsv, evaluate trains on the clean copy too.
TEST_F(CorruptTest, WholePipelineOnIngestedAndCorruptedData) {
  std::ofstream(path("log.csv")) << small_log();
  Ran r = run_ingest_pipeline(path("p.yaml"), path("run"), "csv", path("log.csv"), "string_ids: true",
                              "replace: false, backfill: true, backfill_min_prob: 0.3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(read_text(path("run/finetune/run/config.yaml")).find("data_dir: " + path("run/data/set/clean")),
            std::string::npos);
  nlohmann::json repair = nlohmann::json::parse(read_text(path("run/repair/set/repair.json")));
  EXPECT_TRUE(repair.dump().find("inserts_at_true_gaps") != std::string::npos) << repair.dump();
  nlohmann::json ev = nlohmann::json::parse(read_text(path("run/evaluate/run/evaluate.json")));
  for (const char* set : {"raw", "repaired", "clean"}) EXPECT_TRUE(ev["sets"].contains(set)) << set;
  const std::string md = read_text(path("run/report.md"));
  EXPECT_NE(md.find("Injected into real data"), std::string::npos) << md;
  // Detection scores carry the original ids of the log.
  EXPECT_NE(read_text(path("run/detect/test/event_scores.csv")).find("user-"), std::string::npos);
}

// Sequences without timestamps (one user per line): every stage runs, and nothing invents a time.
TEST_F(CorruptTest, WholePipelineOnSequencesWithoutTimestamps) {
  {
    std::ofstream f(path("seqs.txt"));
    for (int u = 0; u < 60; ++u) {
      f << "u" << u;
      for (int i = 0; i < 12 + u % 9; ++i) f << ' ' << 1 + (u * 7 + i * 3) % 40;
      f << '\n';
    }
  }
  Ran r = run_ingest_pipeline(path("p.yaml"), path("run"), "seqline", path("seqs.txt"),
                              "user_first: true, string_ids: true",
                              "replace: true, replace_min_prob: 0.0, backfill: true, backfill_min_prob: 0.0");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(ShardSet::open(path("run/data/set")).has_column("timestamp"));
  EXPECT_FALSE(ShardSet::open(path("run/repair/set")).has_column("timestamp"));
  // user,position,item,timestamp,...: the timestamp field is empty on every row.
  std::istringstream csv(read_text(path("run/detect/test/event_scores.csv")));
  std::string line;
  std::getline(csv, line);
  int rows = 0;
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    ASSERT_GE(f.size(), 5u) << line;
    EXPECT_EQ(f[3], "") << line;
    ++rows;
  }
  EXPECT_GT(rows, 600);
  nlohmann::json ev = nlohmann::json::parse(read_text(path("run/evaluate/run/evaluate.json")));
  for (const char* set : {"raw", "repaired", "clean"}) EXPECT_TRUE(ev["sets"].contains(set)) << set;
  // The repaired set and its edit log give back the input exactly.
  const std::string edits = read_text(path("run/repair/set/edits.csv"));
  EXPECT_GT(std::count(edits.begin(), edits.end(), '\n'), 1) << "no edits to undo";
  r = run_shell("timeout 120 " + std::string(SEQMEND_BINARY) + " unrepair --in " + path("run/repair/set") +
                " --out " + path("undone"));
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* split : {"train", "valid", "test"})
    EXPECT_TRUE(same_sequences(load_split(path("run/data/set"), split), load_split(path("undone"), split))) << split;
}

// A shipped pipeline file: every section resolves with its stage's config (the pipeline
// writes the section files before the data stage, which fails here on a missing input), and each
// `seqmend <stage> --config <section> --print-config` shows its needle.
void expect_shipped_config_resolves(CorruptTest& t, const std::string& file, const std::string& run_dir_line,
                                    const std::map<std::string, std::string>& needles,
                                    const std::string& input_line = "input: ../shared/data/ml-100k") {
  std::string text = read_text(std::string(SEQMEND_SOURCE_DIR "/experiments/configs/") + file);
  for (auto [from, to] : {std::pair<std::string, std::string>{run_dir_line, "run_dir: " + t.path("run")},
                          {input_line, "input: " + t.path("missing")}}) {
    ASSERT_NE(text.find(from), std::string::npos) << from;
    text.replace(text.find(from), from.size(), to);
  }
  std::ofstream(t.path("p.yaml")) << text;
  Ran r = run_seqmend("run " + t.path("p.yaml"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("missing"), std::string::npos) << r.output;
  for (const auto& [args, needle] : needles) {
    Ran p = run_seqmend(args + " --print-config");
    EXPECT_EQ(p.status, 0) << args << "\n" << p.output;
    EXPECT_NE(p.output.find(needle), std::string::npos) << args << "\n" << p.output;
  }
}

TEST_F(CorruptTest, ShippedMl100kRepairConfigResolvesEverySection) {
  expect_shipped_config_resolves(
      *this, "ml100k_repair.yaml", "run_dir: runs/ml100k_repair",
      {{"ingest --out " + path("unused") + " --config " + path("run/data/section.yaml"), "rating: ignore"},
       {"corrupt --config " + path("run/data/corrupt.yaml"), "noise_items: uniform"},
       {"pretrain --config " + path("run/pretrain/section.yaml"), "max_len: 50"},
       {"finetune --config " + path("run/finetune/section.yaml"), "max_steps: 1500"},
       {"detect --config " + path("run/detect/section.yaml"), "surprisal_passes: 4"},
       {"repair --config " + path("run/repair/section.yaml"), "backfill_min_prob: 0.3"},
       {"evaluate --config " + path("run/evaluate/section.yaml"), ""}});
}

TEST_F(CorruptTest, ShippedNoisyLogConfigResolvesEverySection) {
  expect_shipped_config_resolves(
      *this, "ml100k_noisy_log.yaml", "run_dir: runs/ml100k_noisy_log",
      {{"corrupt --config " + path("run/data/corrupt.yaml"), "hide_truth: true"},
       {"pretrain --config " + path("run/pretrain/section.yaml"), "enabled: true"},
       {"finetune --config " + path("run/finetune/section.yaml"), "event_method: log_precision"},
       {"repair --config " + path("run/repair/section.yaml"), "protect_last: 2"}});
}

TEST_F(CorruptTest, ShippedAmazonGamesNoisyLogConfigResolvesEverySection) {
  expect_shipped_config_resolves(
      *this, "amazon_games_noisy_log.yaml", "run_dir: runs/amazon_games_noisy_log",
      {{"ingest --out " + path("unused") + " --config " + path("run/data/section.yaml"), "separator: space"},
       {"corrupt --config " + path("run/data/corrupt.yaml"), "hide_truth: true"},
       {"pretrain --config " + path("run/pretrain/section.yaml"), "epochs: 40"},
       {"finetune --config " + path("run/finetune/section.yaml"), "mixture_check: true"},
       {"evaluate --config " + path("run/evaluate/section.yaml"), "amazon_games.yaml"},
       {"pretrain --config " SEQMEND_SOURCE_DIR "/experiments/configs/amazon_games.yaml", "objective: causal"}},
      "input: ../shared/data/amazon-video-games/Video.txt");
}

// MovieLens-100K, as experiments/configs/ml100k_repair.yaml uses it.
TEST_F(CorruptTest, MovieLens100kIngestedAndCorrupted) {
  const std::string data = std::string(SEQMEND_SHARED_DIR) + "/data/ml-100k";
  if (!fs::exists(data + "/ml-100k.inter")) GTEST_SKIP() << "MovieLens-100K not found at " << data;
  Ran r = run_seqmend("ingest --format recbole --input " + data + " --out " + path("in") +
                      " clean.rating=ignore fsync=false");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_seqmend("corrupt --input " + path("in") + " --out " + path("out") +
                  " inject.noise_rate=0.1 inject.noise_items=uniform inject.drop_rate=0.05 "
                  "inject.substitution_rate=0 inject.burst_rate=0 inject.bot_rate=0 fsync=false");
  ASSERT_EQ(r.status, 0) << r.output;
  ShardSet in = ShardSet::open(path("in")), out = ShardSet::open(path("out"));
  const nlohmann::json s = out.extra()["corrupt"];
  const int64_t clean_events = load_split(in, "test").num_events();
  EXPECT_EQ(s["users"], 943);
  EXPECT_EQ(s["bots"], 0);
  EXPECT_EQ(s["clean_events"], clean_events);
  EXPECT_GT(clean_events, 99000);
  const int64_t noise = s["label_events"]["noise_click"], dropped = s["dropped_events"];
  EXPECT_EQ(s["label_events"]["substitution"], 0);
  EXPECT_EQ(s["label_events"]["burst_repeat"], 0);
  // Nothing but insertions and deletions: the corrupted events add up exactly.
  EXPECT_EQ(s["events"].get<int64_t>(), clean_events + noise - dropped);
  EXPECT_EQ(load_split(out, "test").num_events(), s["events"].get<int64_t>());
  // Noise follows kept events outside the protected tail (the last three of each user); deletions
  // take events outside the last two: within 5 % of those expectations (about 5 standard deviations).
  const double tail3 = double(clean_events - 3 * 943), tail2 = double(clean_events - 2 * 943);
  EXPECT_NEAR(double(noise), 0.1 * (1 - 0.05) * tail3, 0.05 * 0.1 * 0.95 * tail3) << s.dump();
  EXPECT_NEAR(double(dropped), 0.05 * tail2, 0.05 * 0.05 * tail2) << s.dump();
  EXPECT_EQ(out.item_ids(), in.item_ids());
  EXPECT_EQ(out.user_ids(), in.user_ids());
  EXPECT_EQ(out.split("valid").sequences, 943);
}

}  // namespace
}  // namespace seqmend
