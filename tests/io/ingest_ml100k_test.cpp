// Ingest of the real MovieLens-100K RecBole files, with the count after every cleaning step checked
// against numbers computed independently: a plain-Python script (no seqmend code) that reads
// ml-100k.inter with str.split('\t'), drops exact repeats of (user, item, rating, timestamp), applies
// the rating threshold, runs k-core with collections.Counter until nothing changes, sorts by
// (user, timestamp, file row) and truncates to the newest max_seq_len events. Its output on the
// shared file (header: user_id:token item_id:token rating:float timestamp:float):
//   rows 100000; dedupe (100000 events, 943 users, 1682 items)
//   A (all ratings kept, 5-core): 99287 events, 943 users, 1349 items, 2 passes; leave-one-out users
//     943, train events 97401, valid 98344; first items by appearance 168 172 165 156 196; user 1 has
//     271 events, last item 102
//   B (rating >= 4, 5-core, max_seq_len 50): threshold 55375 / 942 / 1447; 5-core 54413 / 938 / 1008
//     in 2 passes; after truncation 32367 events, 938 users, 1007 items; train 30491, valid 31429;
//     first items 229 203 90 61 230; user 1 last item 256 at 889751712
// The data is read in place from the shared folder and never copied into the project.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/ingest.h"
#include "tests/io/ingest_test_util.h"

namespace seqmend {
namespace {

const std::string kDir = SEQMEND_SHARED_DIR "/data/ml-100k";

struct Counts {
  int64_t events, users, items;
};

Counts step(const nlohmann::json& report, const std::string& name) {
  for (auto& s : report["steps"])
    if (s["step"] == name) return {s["events"].get<int64_t>(), s["users"].get<int64_t>(), s["items"].get<int64_t>()};
  ADD_FAILURE() << "no step " << name;
  return {};
}

void expect_counts(const nlohmann::json& report, const std::string& name, Counts want) {
  Counts got = step(report, name);
  EXPECT_EQ(got.events, want.events) << name;
  EXPECT_EQ(got.users, want.users) << name;
  EXPECT_EQ(got.items, want.items) << name;
}

class IngestMl100k : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kDir + "/ml-100k.inter"))
      GTEST_SKIP() << "MovieLens-100K not found at " << kDir << " (the shared data folder is absent)";
  }
};

TEST_F(IngestMl100k, AllRatingsAsImplicitEvents5Core) {
  IngestOptions o = test::options_for("recbole", kDir);  // the folder: its single .inter file is used
  o.clean.rating = "action";
  o.clean.min_user_events = 5;
  o.clean.min_item_events = 5;
  IngestResult r = ingest_prepare(o);
  const auto& rep = r.report;
  EXPECT_EQ(rep["steps"][0]["detail"]["data_lines"], 100000);
  EXPECT_EQ(rep["steps"][0]["detail"]["malformed"], 0);
  expect_counts(rep, "parse", {100000, 943, 1682});
  expect_counts(rep, "dedupe", {100000, 943, 1682});
  expect_counts(rep, "ratings", {100000, 943, 1682});
  expect_counts(rep, "k_core", {99287, 943, 1349});
  EXPECT_EQ(rep["steps"][5]["detail"]["iterations"], 2);
  expect_counts(rep, "lengths", {99287, 943, 1349});
  EXPECT_EQ(r.info.item_ids.size(), 1349u);
  EXPECT_EQ(std::vector<std::string>(r.info.item_ids.begin(), r.info.item_ids.begin() + 5),
            (std::vector<std::string>{"168", "172", "165", "156", "196"}));
  EXPECT_EQ(r.info.user_ids.front(), "1");
  EXPECT_EQ(r.splits.test.num_sequences(), 943);
  EXPECT_EQ(r.splits.train.num_events(), 97401);
  EXPECT_EQ(r.splits.valid.num_events(), 98344);
  EXPECT_EQ(r.splits.test.num_events(), 99287);
  ASSERT_EQ(r.splits.test.length(0), 271);
  EXPECT_EQ(r.info.item_ids[size_t(r.splits.test.item[270]) - 1], "102");  // user 1's test target
  // Ratings became actions 11..15.
  for (int8_t a : r.splits.test.action) ASSERT_TRUE(a >= 11 && a <= 15);
}

TEST_F(IngestMl100k, PositivesOnly5CoreTruncatedWrittenAndReadBack) {
  IngestOptions o = test::options_for("recbole", kDir + "/ml-100k.inter");
  o.clean.rating = "threshold";
  o.clean.rating_threshold = 4;
  o.clean.min_user_events = 5;
  o.clean.min_item_events = 5;
  o.clean.max_seq_len = 50;
  test::TempDir dir("seqmend_ingest");
  nlohmann::json manifest = ingest_to_dir(o, dir / "ml100k");
  ShardSet set = ShardSet::open(dir / "ml100k");
  const auto& rep = set.extra()["ingest"];
  expect_counts(rep, "ratings", {55375, 942, 1447});
  expect_counts(rep, "k_core", {54413, 938, 1008});
  expect_counts(rep, "lengths", {32367, 938, 1007});
  EXPECT_EQ(rep["steps"][6]["detail"]["users_truncated"].get<int64_t>() > 0, true);
  EXPECT_EQ(set.num_items(), 1007);
  EXPECT_EQ(set.num_users(), 938);
  EXPECT_EQ(set.split("train").events, 30491);
  EXPECT_EQ(set.split("valid").events, 31429);
  EXPECT_EQ(set.split("test").events, 32367);
  EXPECT_EQ(set.extra()["split"]["method"], "leave_one_out");
  SequenceSet test = load_split(set, "test");
  ASSERT_EQ(test.length(0), 50);
  EXPECT_EQ(set.item_ids()[size_t(test.item[0]) - 1], "229");
  EXPECT_EQ(set.item_ids()[size_t(test.item[49]) - 1], "256");
  EXPECT_EQ(test.timestamp[49], 889751712);
  EXPECT_FALSE(test.has_actions());  // threshold mode drops the rating column
}

}  // namespace
}  // namespace seqmend
