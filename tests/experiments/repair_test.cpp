// Repair policies on hand-made sequences, the edit log, undo (exact round trip on simulated data
// with random scores and every policy on), repair statistics, `seqmend unrepair` on disk, and the
// precision floor read from a scores file.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <hdf5_hl.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/error.h"
#include "experiments/cli/repair_stage.h"
#include "experiments/cli/simulate_stage.h"
#include "experiments/repair/repair.h"
#include "experiments/repair/repair_shard_set.h"
#include "experiments/repair/repair_stats.h"
#include "io/shard_set.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

void expect_same_set(const SequenceSet& a, const SequenceSet& b, const std::string& what) {
  ASSERT_EQ(a.num_sequences(), b.num_sequences()) << what;
  for (int64_t s = 0; s < a.num_sequences(); ++s) {
    ASSERT_EQ(a.user[size_t(s)], b.user[size_t(s)]) << what << " sequence " << s;
    ASSERT_EQ(a.length(s), b.length(s)) << what << " sequence " << s;
  }
  EXPECT_EQ(a.offsets, b.offsets) << what;
  EXPECT_EQ(a.item, b.item) << what;
  EXPECT_EQ(a.timestamp, b.timestamp) << what;
  EXPECT_EQ(a.action, b.action) << what;
  EXPECT_EQ(a.label, b.label) << what;
  EXPECT_EQ(a.seq_label, b.seq_label) << what;
}

// Two sequences: user 7 (items 10..14, labelled) and user 8 (a bot).
SequenceSet small_set() {
  SequenceSet s;
  int32_t items[5] = {10, 11, 12, 13, 14};
  int64_t ts[5] = {100, 200, 300, 400, 500};
  int8_t act[5] = {1, 1, 2, 1, 4};
  int8_t lab[5] = {0, 2, 4, 1, 0};
  s.append(7, items, 5, ts, act, lab, 0);
  int32_t bot[3] = {3, 3, 3};
  int64_t bts[3] = {10, 11, 12};
  int8_t bact[3] = {1, 1, 1}, blab[3] = {5, 5, 5};
  s.append(8, bot, 3, bts, bact, blab, kLabelBotUniform);
  return s;
}

// A fake model: a fixed answer per (position, insert) of sequence 0.
Predictor fake_predictor(int* calls) {
  return [calls](const SequenceSet&, const std::vector<PredictQuery>& q) {
    ++*calls;
    std::vector<Prediction> out;
    for (const PredictQuery& x : q) {
      if (x.insert) out.push_back({60, 0.7f});                 // backfill item for any gap
      else if (x.position == 1) out.push_back({50, 0.9f});     // confident: replace
      else if (x.position == 3) out.push_back({51, 0.1f});     // unsure: delete
      else out.push_back({10, 0.99f});                         // agrees with item 10 at position 0
    }
    return out;
  };
}

DetectorScores small_scores() {
  DetectorScores sc;
  sc.event = {0.6f, 0.9f, 0.1f, 0.8f, 0.2f, 0.1f, 0.1f, 0.1f};  // flags positions 0, 1, 3 of user 7
  sc.gap = {0.1f, 0.1f, 0.7f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};    // a gap before position 2
  sc.sequence = {0.2f, 0.95f};                                    // user 8 is a bot
  return sc;
}

TEST(Repair, AppliesEveryPolicyAndLogsEachEdit) {
  SequenceSet in = small_set();
  const SequenceSet before = in;
  int calls = 0;
  RepairConfig cfg;
  Thresholds th{0.5, 0.5, 0.5};
  RepairResult r = repair_sequences(in, small_scores(), th, cfg, fake_predictor(&calls), 100);
  EXPECT_EQ(calls, 1);  // one batched call
  expect_same_set(in, before, "input untouched");
  // position 0: flagged but the model predicts its own item → kept; 1: replaced by 50 (0.9 >= 0.5);
  // gap before 2: 60 inserted at (200 + 300) / 2 = 250 with the most common action (1);
  // 3: prediction 0.1 < 0.5 → deleted; 4: kept.
  ASSERT_EQ(r.repaired.num_sequences(), 1);
  EXPECT_EQ(r.repaired.item, (std::vector<int32_t>{10, 50, 60, 12, 14}));
  EXPECT_EQ(r.repaired.timestamp, (std::vector<int64_t>{100, 200, 250, 300, 500}));
  EXPECT_EQ(r.repaired.action, (std::vector<int8_t>{1, 1, 1, 2, 4}));
  EXPECT_EQ(r.repaired.label, (std::vector<int8_t>{0, 2, 0, 4, 0}));
  EXPECT_EQ(r.repaired.user, (std::vector<int64_t>{7}));
  ASSERT_EQ(r.quarantine.num_sequences(), 1);
  EXPECT_EQ(r.quarantine.user, (std::vector<int64_t>{8}));
  EXPECT_EQ(r.quarantine.item, (std::vector<int32_t>{3, 3, 3}));
  ASSERT_EQ(r.edits.size(), 4u);
  EXPECT_EQ(r.edits[0].op, EditOp::kReplace);
  EXPECT_EQ(r.edits[0].position, 1);
  EXPECT_EQ(r.edits[0].old_item, 11);
  EXPECT_EQ(r.edits[0].new_item, 50);
  EXPECT_FLOAT_EQ(r.edits[0].score, 0.9f);
  EXPECT_EQ(r.edits[1].op, EditOp::kInsert);
  EXPECT_EQ(r.edits[1].position, 2);
  EXPECT_EQ(r.edits[1].new_timestamp, 250);
  EXPECT_EQ(r.edits[2].op, EditOp::kDelete);
  EXPECT_EQ(r.edits[2].position, 3);
  EXPECT_EQ(r.edits[2].old_item, 13);
  EXPECT_EQ(r.edits[2].old_timestamp, 400);
  EXPECT_EQ(r.edits[2].old_label, 1);
  EXPECT_EQ(r.edits[3].op, EditOp::kQuarantine);
  EXPECT_EQ(r.edits[3].sequence, 1);
  EXPECT_EQ(r.edits[3].user, 8);
  expect_same_set(undo_repair(r.repaired, r.quarantine, r.edits), in, "undo");

  // Statistics: the replace hit a substitution, the delete a noise click, the insert a true gap, the
  // quarantine a bot; with truth, the backfill was right and the replacement restored the item.
  RepairTruth truth = parse_repair_truth("kind\tuser\tposition\titem\ndropped\t7\t2\t60\nsubstituted\t7\t1\t49\n", "t");
  nlohmann::json st = repair_stats(in, r, &truth);
  EXPECT_EQ(st["counts"]["delete"], 1);
  EXPECT_EQ(st["counts"]["replace"], 1);
  EXPECT_EQ(st["counts"]["insert"], 1);
  EXPECT_EQ(st["counts"]["quarantine"], 1);
  EXPECT_DOUBLE_EQ(st["labels"]["delete_precision"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(st["labels"]["anomaly_recall"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(st["labels"]["insert_precision"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(st["labels"]["quarantine_recall"].get<double>(), 1.0);
  EXPECT_EQ(st["truth"]["backfill_correct"], 1);
  EXPECT_EQ(st["truth"]["substitutions_restored"], 0);  // 50 is not the original 49
  EXPECT_DOUBLE_EQ(st["truth"]["replace_accuracy"].get<double>(), 0.0);
}

TEST(Repair, PoliciesSwitchOff) {
  SequenceSet in = small_set();
  int calls = 0;
  Thresholds th{0.5, 0.5, 0.5};
  RepairConfig cfg;
  cfg.replace = false;
  cfg.backfill = false;
  cfg.quarantine = false;
  // Only deletions: no prediction is needed, so no predictor is called (or required).
  RepairResult r = repair_sequences(in, small_scores(), th, cfg, nullptr);
  EXPECT_EQ(r.repaired.item, (std::vector<int32_t>{12, 14, 3, 3, 3}));
  EXPECT_EQ(r.quarantine.num_sequences(), 0);
  expect_same_set(undo_repair(r.repaired, r.quarantine, r.edits), in, "undo");
  // Nothing on: the output equals the input and the log is empty.
  cfg.delete_events = false;
  r = repair_sequences(in, small_scores(), th, cfg, nullptr);
  expect_same_set(r.repaired, in, "no policy");
  EXPECT_TRUE(r.edits.empty());
  // replace_min_prob above the fake's 0.9 and delete off: flagged events stay.
  cfg = RepairConfig{};
  cfg.delete_events = false;
  cfg.replace_min_prob = 0.95;
  cfg.backfill = false;
  r = repair_sequences(in, small_scores(), th, cfg, fake_predictor(&calls));
  EXPECT_EQ(r.repaired.item, (std::vector<int32_t>{10, 11, 12, 13, 14}));
  // protect_last = 3: positions 2, 3, 4 and the gap before 2 untouched; position 1 still replaced.
  cfg = RepairConfig{};
  cfg.protect_last = 3;
  r = repair_sequences(in, small_scores(), th, cfg, fake_predictor(&calls));
  EXPECT_EQ(r.repaired.item, (std::vector<int32_t>{10, 50, 12, 13, 14}));
  // Heads left empty flag nothing; thresholds at +inf flag nothing.
  r = repair_sequences(in, DetectorScores{}, th, RepairConfig{}, nullptr);
  expect_same_set(r.repaired, in, "no scores");
  r = repair_sequences(in, small_scores(), Thresholds{}, RepairConfig{}, nullptr);
  expect_same_set(r.repaired, in, "infinite thresholds");
}

TEST(Repair, UndoWhenEveryEventIsGone) {
  SequenceSet in = small_set();
  RepairConfig cfg;
  cfg.replace = false;
  cfg.backfill = false;
  cfg.quarantine = false;
  RepairResult r = repair_sequences(in, small_scores(), Thresholds{0.0, 1.0, 1.0}, cfg, nullptr);
  EXPECT_EQ(r.repaired.num_events(), 0);
  EXPECT_EQ(r.repaired.num_sequences(), 2);  // empty sequences stay, so users and order survive
  EXPECT_TRUE(r.repaired.timestamp.empty());
  const EventColumns cols{true, true, true};
  expect_same_set(undo_repair(r.repaired, r.quarantine, r.edits, &cols), in, "all deleted");
}

TEST(Repair, RejectsBadInputs) {
  SequenceSet in = small_set();
  Thresholds th{0.5, 0.5, 0.5};
  DetectorScores sc = small_scores();
  sc.event.pop_back();
  EXPECT_THROW(repair_sequences(in, sc, th, RepairConfig{}, nullptr), Error);
  EXPECT_THROW(repair_sequences(in, small_scores(), th, RepairConfig{}, nullptr), Error);  // predictor needed
  Predictor short_answer = [](const SequenceSet&, const std::vector<PredictQuery>&) {
    return std::vector<Prediction>{};
  };
  EXPECT_THROW(repair_sequences(in, small_scores(), th, RepairConfig{}, short_answer), Error);
  Predictor bad_item = [](const SequenceSet&, const std::vector<PredictQuery>& q) {
    return std::vector<Prediction>(q.size(), Prediction{1000, 0.9f});
  };
  EXPECT_THROW(repair_sequences(in, small_scores(), th, RepairConfig{}, bad_item, 100), Error);
  // An edit log that does not belong to the repaired set is refused.
  int calls = 0;
  RepairResult r = repair_sequences(in, small_scores(), th, RepairConfig{}, fake_predictor(&calls));
  std::vector<Edit> wrong = r.edits;
  wrong[0].new_item = 77;
  EXPECT_THROW(undo_repair(r.repaired, r.quarantine, wrong), Error);
  wrong = r.edits;
  wrong[1].position = 4;  // the insert moved: position 4 of the repaired sequence holds 12, not 60
  EXPECT_THROW(undo_repair(r.repaired, r.quarantine, wrong), Error);
}

TEST(Repair, EditLogCsvRoundTrip) {
  SequenceSet in = small_set();
  int calls = 0;
  RepairResult r = repair_sequences(in, small_scores(), Thresholds{0.5, 0.5, 0.5}, RepairConfig{},
                                    fake_predictor(&calls));
  EditLog log{{"train", r.edits}, {"test", r.edits}};
  std::string csv = edit_log_csv(log);
  EXPECT_EQ(parse_edit_log_csv(csv), log);
  EXPECT_NE(csv.find("train,0,7,2,insert,0,60,0,250,0,1,0,0.699999988,0.699999988"), std::string::npos) << csv;
  std::string bad = csv;
  bad.replace(bad.find("insert"), 6, "insret");
  try {
    parse_edit_log_csv(bad, "x/edits.csv");
    FAIL() << "accepted a bad operation";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x/edits.csv:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("insret"), std::string::npos) << e.what();
  }
}

// Random scores and a random fake model over injected simulated data: every policy fires many times
// and undo gives the input back exactly.
Predictor random_predictor(int64_t num_items) {
  return [num_items](const SequenceSet& in, const std::vector<PredictQuery>& q) {
    std::vector<Prediction> out;
    for (const PredictQuery& x : q) {
      std::mt19937 g(uint32_t(x.sequence * 1000003 + x.position * 2 + x.insert));
      int32_t item = std::uniform_int_distribution<int32_t>(1, int32_t(num_items))(g);
      if (!x.insert && g() % 5 == 0) item = in.item[size_t(in.offsets[size_t(x.sequence)] + x.position)];
      out.push_back({item, std::uniform_real_distribution<float>(0, 1)(g)});
    }
    return out;
  };
}

DetectorScores random_scores(const SequenceSet& s, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(0, 1);
  DetectorScores sc;
  for (int64_t i = 0; i < s.num_events(); ++i) sc.event.push_back(u(g)), sc.gap.push_back(u(g));
  for (int64_t i = 0; i < s.num_sequences(); ++i) sc.sequence.push_back(u(g));
  return sc;
}

class RepairSimulatedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimulateConfig cfg;
    cfg.simulator.num_users = 150;
    cfg.simulator.num_items = 400;
    cfg.simulator.num_clusters = 6;
    cfg.inject.noise_rate = 0.05;
    cfg.inject.drop_rate = 0.05;
    cfg.inject.bot_rate = 0.1;
    cfg.max_events_per_shard = 3000;  // several shards per split
    cfg.fsync = false;
    cfg.threads = 1;
    run_simulate(cfg, path("sim"));
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  test::TempDir tmp_{"seqmend_repair"};
  fs::path dir_ = tmp_.path();
};

TEST_F(RepairSimulatedTest, UndoRestoresInputExactlyWithEveryPolicy) {
  ShardSet set = ShardSet::open(path("sim"));
  SequenceSet in = load_split(set, "test");
  ASSERT_TRUE(in.has_timestamps() && in.has_actions() && in.has_labels());
  RepairConfig cfg;
  cfg.replace_min_prob = 0.3;
  for (uint32_t seed : {1u, 2u, 3u}) {
    DetectorScores sc = random_scores(in, seed);
    Thresholds th{0.8, 0.85, 0.9};
    RepairResult r = repair_sequences(in, sc, th, cfg, random_predictor(set.num_items()), set.num_items());
    int64_t ops[4] = {};
    for (const Edit& e : r.edits) ops[int(e.op)]++;
    for (int k = 0; k < 4; ++k) EXPECT_GT(ops[k], 5) << "op " << k << " seed " << seed;
    r.repaired.validate(set.num_items());
    for (int64_t s = 0; s < r.repaired.num_sequences(); ++s)  // timestamps stay sorted
      for (int64_t i = r.repaired.offsets[size_t(s)] + 1; i < r.repaired.offsets[size_t(s) + 1]; ++i)
        ASSERT_LE(r.repaired.timestamp[size_t(i - 1)], r.repaired.timestamp[size_t(i)]);
    expect_same_set(undo_repair(r.repaired, r.quarantine, r.edits), in, "seed " + std::to_string(seed));
    // Through the CSV too (what undo reads from disk).
    EditLog log = parse_edit_log_csv(edit_log_csv({{"test", r.edits}}));
    expect_same_set(undo_repair(r.repaired, r.quarantine, log["test"]), in, "csv");
  }
}

std::pair<int, std::string> run_seqmend(const std::string& args) {
  std::string cmd = std::string(SEQMEND_BINARY) + " " + args + " 2>&1";
  std::string output;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) output.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, output};
}

TEST_F(RepairSimulatedTest, RepairedShardSetAndUnrepairCommandRoundTrip) {
  ShardSet set = ShardSet::open(path("sim"));
  std::map<std::string, DetectorScores> scores;
  uint32_t seed = 10;
  for (const std::string& split : set.split_names()) scores[split] = random_scores(load_split(set, split), seed++);
  RepairProvenance prov;
  prov.detector_checksum = "crc32:1234abcd";
  prov.thresholds = {0.8, 0.85, 0.9};
  RepairTruth truth = load_repair_truth(path("sim/repair_truth.tsv"));
  RepairWriteOptions wo;
  wo.shards.fsync = false;
  wo.shards.max_events_per_shard = 2000;
  nlohmann::json rec = repair_shard_set(path("sim"), path("rep"), scores, RepairConfig{},
                                        random_predictor(set.num_items()), prov, &truth, wo);
  EXPECT_EQ(rec["detector_checksum"], "crc32:1234abcd");
  EXPECT_DOUBLE_EQ(rec["thresholds"]["gap"].get<double>(), 0.85);
  EXPECT_NE(rec["config_yaml"].get<std::string>().find("replace_min_prob"), std::string::npos);
  EXPECT_TRUE(rec["stats"]["test"]["truth"].contains("backfill_accuracy"));
  EXPECT_GT(rec["stats"]["test"]["counts"]["insert"].get<int64_t>(), 0);

  ShardSet rep = ShardSet::open(path("rep"));
  EXPECT_EQ(rep.split_names(), set.split_names());
  EXPECT_EQ(rep.extra()["repair"]["detector_checksum"], "crc32:1234abcd");
  ShardSet quar = ShardSet::open(path("rep/quarantine"));
  EXPECT_EQ(quar.split_names(), set.split_names());
  EXPECT_GT(quar.split("test").sequences, 0);
  EXPECT_TRUE(fs::exists(path("rep/edits.csv")));
  EXPECT_TRUE(fs::exists(path("rep/repair.json")));
  // An existing output is not replaced without permission.
  EXPECT_THROW(repair_shard_set(path("sim"), path("rep"), scores, RepairConfig{}, random_predictor(400), prov,
                                nullptr, wo),
               Error);

  auto [status, out] = run_seqmend("unrepair --in " + path("rep") + " --out " + path("back") + " --no-fsync");
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("unrepair: wrote"), std::string::npos) << out;
  ShardSet back = ShardSet::open(path("back"));
  EXPECT_EQ(back.split_names(), set.split_names());
  EXPECT_EQ(back.source(), set.source());
  EXPECT_FALSE(back.extra().contains("repair"));
  EXPECT_EQ(back.item_counts(), set.item_counts());
  for (const std::string& split : set.split_names())
    expect_same_set(load_split(back, split), load_split(set, split), split);

  // A missing edit log is an error naming it; so is a directory that is not a repaired set.
  fs::remove(path("rep/edits.csv"));
  auto [st2, out2] = run_seqmend("unrepair --in " + path("rep") + " --out " + path("back2"));
  EXPECT_NE(st2, 0);
  EXPECT_NE(out2.find("edits.csv"), std::string::npos) << out2;
  auto [st3, out3] = run_seqmend("unrepair --in " + path("sim") + " --out " + path("back3"));
  EXPECT_NE(st3, 0);
  EXPECT_NE(out3.find("not a repaired shard set"), std::string::npos) << out3;
}

// A scores file as detect writes it (detect_stage.h), with or without the calibration's expected
// precision of each head (files written before it was kept have none).
void write_scores_file(const std::string& path, const DetectorScores& sc, const char* split,
                       const HeadPrecision* expected) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0) << path;
  for (auto [name, v] : {std::pair{"event_score", &sc.event}, std::pair{"gap_score", &sc.gap},
                         std::pair{"sequence_score", &sc.sequence}}) {
    const hsize_t n = v->size();
    ASSERT_GE(H5LTmake_dataset_float(f, name, 1, &n, v->data()), 0) << name;
  }
  H5LTset_attribute_string(f, "/", "split", split);
  for (auto [k, x] : {std::pair{"threshold_event", 0.9}, std::pair{"threshold_gap", 0.95},
                      std::pair{"threshold_sequence", 0.9}})
    H5LTset_attribute_double(f, "/", k, &x, 1);
  if (expected)
    for (auto [k, x] : {std::pair{"expected_precision_event", expected->event},
                        std::pair{"expected_precision_gap", expected->gap},
                        std::pair{"expected_precision_sequence", expected->sequence}})
      H5LTset_attribute_double(f, "/", k, &x, 1);
  H5Fclose(f);
}

// The precision floor reads each head's expected precision from the scores file: kinds whose head
// reaches it edit, the others do not; a file without the precisions edits nothing under a floor.
TEST_F(RepairSimulatedTest, ThePrecisionFloorReadsTheHeadsPrecisionFromTheScoresFile) {
  const DetectorScores sc = random_scores(load_split(path("sim"), "train"), 17);
  auto repair = [&](const std::string& name, const HeadPrecision* expected) {
    const std::string scores = path(name + ".h5");
    write_scores_file(scores, sc, "train", expected);
    RepairStageConfig cfg;
    cfg.data_dir = path("sim");
    cfg.out_dir = path(name);
    cfg.scores_train = scores;
    cfg.predictor = "none";
    cfg.fsync = false;
    cfg.repair.min_expected_precision = 0.8;
    const ScoresFile back = read_scores_h5(scores);
    if (expected) {
      EXPECT_EQ(back.expected.event, expected->event);
      EXPECT_EQ(back.expected.gap, expected->gap);
    } else {
      EXPECT_TRUE(std::isnan(back.expected.event) && std::isnan(back.expected.gap) && std::isnan(back.expected.sequence));
    }
    return run_repair(cfg);
  };
  const HeadPrecision known{0.9, 0.1, 0.85};
  const nlohmann::json with = repair("known", &known);
  const nlohmann::json& counts = with["stats"]["train"]["counts"];
  EXPECT_GT(counts["delete"].get<int64_t>(), 0) << with["stats"].dump();
  EXPECT_GT(counts["quarantine"].get<int64_t>(), 0) << with["stats"].dump();
  EXPECT_EQ(counts["insert"].get<int64_t>(), 0);
  EXPECT_EQ(with["extra"]["precision_floor"]["backfill"]["why"], "head below the floor");
  EXPECT_EQ(with["extra"]["expected_precision"]["event"], 0.9);

  const nlohmann::json without = repair("unknown", nullptr);
  const nlohmann::json& none = without["stats"]["train"]["counts"];
  EXPECT_EQ(none["delete"].get<int64_t>() + none["insert"].get<int64_t>() + none["replace"].get<int64_t>() +
                none["quarantine"].get<int64_t>(),
            0)
      << without["stats"].dump();
  EXPECT_EQ(without["extra"]["precision_floor"]["delete"]["why"], "head precision unknown (re-run detect)");
  EXPECT_TRUE(without["extra"]["expected_precision"]["event"].is_null());
}

}  // namespace
}  // namespace seqmend
