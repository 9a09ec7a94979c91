#include "io/shard_set.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/base/error.h"
#include "io/shard_test_util.h"

namespace seqmend {
namespace {
namespace fs = std::filesystem;
using namespace shard_test;

TEST_F(ShardSetTest, RoundTripWithAllColumns) {
  const int64_t V = 500, U = 300;
  std::map<std::string, SequenceSet> splits{{"train", make_set(200, V, U, 1)},
                                            {"valid", make_set(40, V, U, 2)},
                                            {"test", make_set(40, V, U, 3)}};
  ShardOptions o;
  o.max_events_per_shard = 600;
  nlohmann::json written = write_shard_set(dir(), make_info(V, U), splits, o);

  ShardSet set = ShardSet::open(dir());
  EXPECT_EQ(set.num_items(), V);
  EXPECT_EQ(set.num_users(), U);
  EXPECT_EQ(set.item_ids()[0], "item-3");  // remapped item 1
  EXPECT_EQ(set.user_ids()[299], "u299");
  EXPECT_EQ(set.source(), "shard_set_test synthetic data");
  EXPECT_EQ(set.extra().at("seed"), 42);
  EXPECT_EQ(set.columns(), (std::vector<std::string>{"offsets", "item", "user", "timestamp", "action", "label",
                                                     "seq_label"}));
  EXPECT_EQ(set.split_names(), (std::vector<std::string>{"test", "train", "valid"}));
  EXPECT_EQ(set.manifest().at("label_codes").at("7"), anomaly_label_name(kLabelBotPush));
  EXPECT_EQ(set.manifest().at("action_codes").at("13"), "rating_3");
  EXPECT_EQ(set.manifest(), written);
  EXPECT_FALSE(set.manifest().at("created").get<std::string>().empty());

  // Item counts are counted by the writer over every split.
  std::vector<int64_t> counts(size_t(V), 0);
  for (const auto& [name, s] : splits) {
    for (int32_t it : s.item) ++counts[size_t(it - 1)];
    SequenceSet back = load_split(dir(), name);
    expect_same(back, s);
    EXPECT_EQ(set.split(name).sequences, s.num_sequences());
    EXPECT_EQ(set.split(name).events, s.num_events());
  }
  EXPECT_EQ(set.item_counts(), counts);
  EXPECT_GT(set.split("train").num_shards(), 3);
}

TEST_F(ShardSetTest, RoundTripWithoutOptionalColumns) {
  const int64_t V = 50, U = 20;
  SequenceSet s = make_set(60, V, U, 4, Columns{false, false, false});
  ManifestInfo info;
  info.num_items = V;  // simulated data: no original id strings, no user table
  write_shard_set(dir(), info, {{"all", s}});
  ShardSet set = ShardSet::open(dir());
  EXPECT_EQ(set.columns(), (std::vector<std::string>{"offsets", "item", "user"}));
  EXPECT_FALSE(set.has_column("timestamp"));
  EXPECT_TRUE(set.item_ids().empty());
  EXPECT_EQ(set.num_items(), V);
  SequenceSet back = load_split(set, "all");
  expect_same(back, s);
  EXPECT_FALSE(back.has_timestamps());
  // The shard itself stores no optional dataset.
  hid_t f = H5Fopen(set.shard_path("all", 0).c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  EXPECT_EQ(H5Lexists(f, "timestamp", H5P_DEFAULT), 0);
  EXPECT_EQ(H5Lexists(f, "item", H5P_DEFAULT), 1);
  H5Fclose(f);
}

TEST_F(ShardSetTest, RoundTripWithSomeOptionalColumns) {
  SequenceSet s = make_set(80, 90, 30, 5, Columns{true, false, true});
  write_shard_set(dir(), make_info(90, 30), {{"all", s}});
  EXPECT_EQ(ShardSet::open(dir()).columns(),
            (std::vector<std::string>{"offsets", "item", "user", "timestamp", "label", "seq_label"}));
  expect_same(load_split(dir(), "all"), s);
}

TEST_F(ShardSetTest, ManyShardsRespectLimitsAndNeverSplitASequence) {
  SequenceSet s = make_set(1000, 200, 100, 6, {}, 0, 40);
  ShardOptions o;
  o.max_events_per_shard = 300;
  o.chunk_elements = 64;  // several chunks per dataset
  write_shard_set(dir(), make_info(200, 100), {{"train", s}}, o);
  ShardSet set = ShardSet::open(dir());
  const SplitInfo& tr = set.split("train");
  EXPECT_GE(tr.num_shards(), s.num_events() / 300);
  int64_t first = 0;
  for (int64_t k = 0; k < tr.num_shards(); ++k) {
    const ShardEntry& e = tr.shards[size_t(k)];
    EXPECT_EQ(e.file, shard_file_name("train", k));
    EXPECT_TRUE(fs::exists(set.shard_path("train", k)));
    EXPECT_LE(e.events, 300);
    EXPECT_EQ(e.bytes, int64_t(fs::file_size(set.shard_path("train", k))));
    // Each shard holds whole consecutive sequences of the input.
    ShardReader r(set, "train", {k});
    SequenceSet got;
    ASSERT_TRUE(r.next(got, 1 << 30));
    expect_same(got, slice(s, first, first + e.sequences));
    first += e.sequences;
  }
  EXPECT_EQ(first, s.num_sequences());
  EXPECT_EQ(shard_file_name("train", 3), "train-00003.h5");

  ShardOptions by_seq;
  by_seq.max_sequences_per_shard = 64;
  by_seq.max_events_per_shard = 0;
  write_shard_set(dir("seq"), make_info(200, 100), {{"train", s}}, by_seq);
  const ShardSet by_seq_set = ShardSet::open(dir("seq"));
  const SplitInfo& tr2 = by_seq_set.split("train");
  EXPECT_EQ(tr2.num_shards(), (1000 + 63) / 64);
  for (const auto& e : tr2.shards) EXPECT_LE(e.sequences, 64);
}

TEST_F(ShardSetTest, PlannedSplitsAreCutIntoAboutTheTargetCountWithinTheLimits) {
  SequenceSet s = make_set(3000, 200, 100, 7, {}, 0, 40);  // ~60k events, at most 40 per sequence
  const int64_t E = s.num_events();
  auto shards_of = [&](const std::string& d, const ShardOptions& o) {
    nlohmann::json m = write_shard_set(d, make_info(200, 100), {{"train", s}}, o);
    const ShardSet set = ShardSet::open(d);
    const SplitInfo& tr = set.split("train");
    const int64_t limit = m.at("splits").at("train").at("events_per_shard").get<int64_t>();
    EXPECT_EQ(limit, shard_event_limit(E, o));
    for (const auto& e : tr.shards) EXPECT_LE(e.events, limit);
    EXPECT_EQ(load_split(d, "train").num_events(), E);
    return tr.num_shards();
  };
  ShardOptions o;
  o.target_shards = 16;
  o.min_events_per_shard = 1;
  // A shard closes before the sequence that would overflow it, so it holds more than limit - 40 events.
  const int64_t n16 = shards_of(dir("t16"), o);
  EXPECT_GE(n16, 16);
  EXPECT_LE(n16, E / (E / 16 - 40) + 1);
  nlohmann::json m = ShardSet::open(dir("t16")).manifest();
  EXPECT_EQ(m.at("shard_options").at("target_shards"), 16);
  EXPECT_EQ(m.at("shard_options").at("min_events_per_shard"), 1);

  o.min_events_per_shard = E / 4;  // the minimum wins over the target
  EXPECT_EQ(shard_event_limit(E, o), E / 4);
  EXPECT_LE(shards_of(dir("min"), o), 5);
  o.max_events_per_shard = 1000;  // and the largest shard wins over both
  EXPECT_EQ(shard_event_limit(E, o), 1000);
  EXPECT_GE(shards_of(dir("max"), o), E / 1000);
  o.target_shards = 0;  // no target: shards of the largest size
  EXPECT_EQ(shard_event_limit(E, o), 1000);

  // A streaming writer that does not declare the split's size fills shards to the largest size.
  ShardOptions big;
  big.max_events_per_shard = E / 2 + 40;
  ShardSetWriter w(dir("stream"), make_info(200, 100), big);
  w.add("train", s);
  w.finish();
  EXPECT_EQ(ShardSet::open(dir("stream")).split("train").num_shards(), 2);
  ShardSetWriter late(dir("late"), make_info(200, 100), big);
  late.add("train", slice(s, 0, 10));
  EXPECT_THROW(late.plan_split("train", E), Error);
}

TEST_F(ShardSetTest, SequenceLongerThanAShardGetsItsOwnShard) {
  SequenceSet s = make_set(10, 50, 10, 7, {}, 5, 10);
  SequenceSet big = make_set(1, 50, 10, 8, {}, 500, 500);
  SequenceSet all = slice(s, 0, 5);
  append_all(all, big);
  append_all(all, slice(s, 5, 10));
  ShardOptions o;
  o.max_events_per_shard = 40;
  write_shard_set(dir(), make_info(50, 10), {{"all", all}}, o);
  ShardSet set = ShardSet::open(dir());
  bool found = false;
  for (const auto& e : set.split("all").shards) found |= (e.sequences == 1 && e.events == 500);
  EXPECT_TRUE(found);
  expect_same(load_split(set, "all"), all);
}

TEST_F(ShardSetTest, EmptySequencesAndEmptySplits) {
  SequenceSet s = make_set(50, 40, 10, 9, {}, 0, 3);  // many zero-length sequences
  int64_t zero = 0;
  for (int64_t i = 0; i < s.num_sequences(); ++i) zero += s.length(i) == 0;
  ASSERT_GT(zero, 5);
  SequenceSet only_empty;
  const int32_t none_i = 0;
  const int64_t none_t = 0;
  const int8_t none_a = 0;
  for (int u = 0; u < 4; ++u) only_empty.append(u, &none_i, 0, &none_t, &none_a, &none_a, int8_t(u % 2 ? 5 : 0));

  ShardSetWriter w(dir(), make_info(40, 10));
  w.add("train", s);
  w.add("valid", only_empty);
  w.add_split("test");
  w.finish();
  ShardSet set = ShardSet::open(dir());
  expect_same(load_split(set, "train"), s);
  SequenceSet v = load_split(set, "valid");
  EXPECT_EQ(v.num_sequences(), 4);
  EXPECT_EQ(v.num_events(), 0);
  EXPECT_EQ(v.user, only_empty.user);
  EXPECT_EQ(set.split("test").num_shards(), 0);
  ShardReader r(set, "test");
  SequenceSet batch = s;
  EXPECT_FALSE(r.next(batch, 10));
  EXPECT_EQ(batch.num_sequences(), 0);
}

TEST_F(ShardSetTest, StreamingWriterConcatenatesAddsAndLeavesInputUntouched) {
  SequenceSet a = make_set(70, 60, 20, 10), b = make_set(50, 60, 20, 11);
  const SequenceSet a0 = a, b0 = b;
  ShardOptions o;
  o.max_events_per_shard = 250;
  ShardSetWriter w(dir(), make_info(60, 20), o);
  w.add("train", a);
  w.add("train", b);
  w.finish();
  expect_same(a, a0);
  expect_same(b, b0);
  SequenceSet both = slice(a, 0, a.num_sequences());
  append_all(both, b);
  expect_same(load_split(dir(), "train"), both);
  EXPECT_THROW(w.finish(), Error);
}

TEST_F(ShardSetTest, SameDataGivesSameBytes) {
  SequenceSet s = make_set(100, 60, 20, 12);
  ShardOptions o;
  o.max_events_per_shard = 400;
  auto m1 = write_shard_set(dir("a"), make_info(60, 20), {{"all", s}}, o);
  auto m2 = write_shard_set(dir("b"), make_info(60, 20), {{"all", s}}, o);
  EXPECT_EQ(m1.at("splits"), m2.at("splits"));  // sizes and CRC-32s
}

TEST_F(ShardSetTest, RejectsBadInputNamingIt) {
  SequenceSet s = make_set(20, 30, 10, 13);
  s.item[5] = 31;
  EXPECT_NE(error_of([&] { write_shard_set(dir("a"), make_info(30, 10), {{"train", s}}); }).find("item id 31"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir("a") + "/manifest.json"));

  SequenceSet u = make_set(20, 30, 10, 14);
  u.user[3] = 10;
  EXPECT_NE(error_of([&] { write_shard_set(dir("b"), make_info(30, 10), {{"train", u}}); }).find("user id 10"),
            std::string::npos);

  std::map<std::string, SequenceSet> mixed{{"test", make_set(20, 30, 10, 15, Columns{false, false, false})},
                                           {"train", make_set(20, 30, 10, 16)}};
  EXPECT_NE(error_of([&] { write_shard_set(dir("c"), make_info(30, 10), mixed); }).find("same columns"),
            std::string::npos);

  SequenceSet l = make_set(20, 30, 10, 17);
  l.label[0] = 42;
  EXPECT_NE(error_of([&] { write_shard_set(dir("d"), make_info(30, 10), {{"train", l}}); }).find("label[0] = 42"),
            std::string::npos);
  EXPECT_NE(error_of([&] { write_shard_set(dir("e"), make_info(30, 10), {{"tr/ain", l}}); }).find("tr/ain"),
            std::string::npos);
}

TEST_F(ShardSetTest, RefusesNonEmptyDirectoryUnlessOverwriteIsAsked) {
  ShardOptions small;
  small.max_events_per_shard = 100;
  write_shard_set(dir(), make_info(30, 10), {{"all", make_set(60, 30, 10, 18)}}, small);
  const size_t old_files = size_t(std::distance(fs::directory_iterator(dir()), fs::directory_iterator()));
  ASSERT_GT(old_files, 3u);
  std::string err = error_of([&] { write_shard_set(dir(), make_info(30, 10), {{"train", make_set(5, 30, 10, 19)}}); });
  EXPECT_NE(err.find("not empty"), std::string::npos) << err;
  EXPECT_NE(err.find(dir()), std::string::npos) << err;
  EXPECT_NO_THROW(ShardSet::open(dir()));  // the refused write changed nothing

  std::ofstream(dir() + "/NOTES.txt") << "kept";
  ShardOptions o;
  o.overwrite = true;
  SequenceSet fresh = make_set(5, 30, 10, 19);
  write_shard_set(dir(), make_info(30, 10), {{"train", fresh}}, o);
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir())) names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"manifest.json", "train-00000.h5", "NOTES.txt"}));
  expect_same(load_split(dir(), "train"), fresh);
}

TEST_F(ShardSetTest, WriteThatFailsMidwayLeavesNoWholeLookingShardAndNoManifest) {
  SequenceSet s = make_set(200, 50, 20, 20);
  ShardOptions o;
  o.max_events_per_shard = 300;
  o.fail_in_shard = 2;
  std::string err;
  {
    ShardSetWriter w(dir(), make_info(50, 20), o);
    err = error_of([&] { w.add("train", s); });
    // The failed writer holds a partial shard: it refuses to go on rather than write a wrong set.
    EXPECT_NE(error_of([&] { w.finish(); }).find("an earlier error"), std::string::npos);
    EXPECT_NE(error_of([&] { w.add("valid", s); }).find("an earlier error"), std::string::npos);
  }
  EXPECT_NE(err.find("simulated failure"), std::string::npos) << err;
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir())) names.insert(e.path().filename().string());
  // Shards 0 and 1 were complete and renamed; shard 2 never got its final name; no temporaries
  // and no manifest remain, so the directory does not pass for a shard set.
  EXPECT_EQ(names, (std::set<std::string>{"train-00000.h5", "train-00001.h5"}));
  err = error_of([&] { ShardSet::open(dir()); });
  EXPECT_NE(err.find("missing manifest"), std::string::npos) << err;

  // An invalid column in a later add() stops the write the same way.
  SequenceSet bad = make_set(10, 50, 20, 21);
  bad.timestamp.pop_back();
  ShardOptions o2;
  o2.max_events_per_shard = 300;
  {
    ShardSetWriter w(dir("b"), make_info(50, 20), o2);
    w.add("train", s);
    EXPECT_THROW(w.add("valid", bad), Error);
    EXPECT_FALSE(fs::exists(dir("b") + "/valid-00000.h5"));
  }  // destroyed unfinished, as when the exception propagates
  EXPECT_FALSE(fs::exists(dir("b") + "/manifest.json"));
  for (const auto& e : fs::directory_iterator(dir("b")))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();

  // Rejected input is never buffered, so a writer that catches the error can still finish.
  ShardSetWriter w(dir("c"), make_info(50, 20), o2);
  w.add("train", s);
  EXPECT_THROW(w.add("train", bad), Error);
  w.finish();
  expect_same(load_split(dir("c"), "train"), s);
}

TEST_F(ShardSetTest, MissingManifestOrDirectoryIsAClearError) {
  std::string err = error_of([&] { ShardSet::open(dir("nowhere")); });
  EXPECT_NE(err.find("no such directory"), std::string::npos) << err;
  write_shard_set(dir(), make_info(30, 10), {{"all", make_set(5, 30, 10, 22)}});
  fs::remove(dir() + "/manifest.json");
  err = error_of([&] { ShardSet::open(dir()); });
  EXPECT_NE(err.find(dir() + "/manifest.json"), std::string::npos) << err;
  EXPECT_NE(err.find("missing manifest"), std::string::npos) << err;
}

TEST_F(ShardSetTest, WrongFormatVersionInManifestIsRejected) {
  write_shard_set(dir(), make_info(30, 10), {{"all", make_set(5, 30, 10, 23)}});
  nlohmann::json m = read_json(dir() + "/manifest.json");
  m["format_version"] = 99;
  write_json(dir() + "/manifest.json", m);
  std::string err = error_of([&] { ShardSet::open(dir()); });
  EXPECT_NE(err.find("manifest.json: format version 99, expected 1"), std::string::npos) << err;
}

TEST_F(ShardSetTest, UnknownSplitNamesTheSplitsThereAre) {
  write_shard_set(dir(), make_info(30, 10), {{"train", make_set(5, 30, 10, 24)}, {"test", make_set(5, 30, 10, 25)}});
  std::string err = error_of([&] { load_split(dir(), "valid"); });
  EXPECT_NE(err.find("no split 'valid' (it has: test, train)"), std::string::npos) << err;
}

}  // namespace
}  // namespace seqmend
