// `seqmend ingest` as a user runs it: the built binary on small files in every format, the shard set
// it writes read back (with seqmend's reader, and with h5py through tools/read_shard_h5py.py), and
// failures that must exit non-zero with a message and no output directory; concurrent writers, a
// failing --overwrite and SIGTERM mid-write leave a whole set or none (io/published_dir.h).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "io/shard_set.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tmpfs.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int rc = -1;
  std::string output;  // stdout and stderr together
};

CliRun run(const std::string& args) {
  std::string cmd = std::string(SEQMEND_BINARY) + " " + args + " 2>&1";
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class IngestCli : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

  // Original item ids of test sequence k.
  static std::vector<std::string> test_items(const ShardSet& set, int64_t k) {
    SequenceSet s = load_split(set, "test");
    std::vector<std::string> out;
    for (int64_t i = s.offsets[size_t(k)]; i < s.offsets[size_t(k) + 1]; ++i)
      out.push_back(set.item_ids()[size_t(s.item[size_t(i)]) - 1]);
    return out;
  }

  // Runs ingest, expects success, checks the leave-one-out layout and the h5py reader; returns the set.
  ShardSet ingest_ok(const std::string& args) {
    std::string out = path("out");
    fs::remove_all(out);
    CliRun r = run("ingest " + args + " --out " + out + " fsync=false");
    EXPECT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("ingest: wrote"), std::string::npos) << r.output;
    ShardSet set = ShardSet::open(out);
    if (set.extra()["split"]["method"] == "leave_one_out") {
      SequenceSet train = load_split(set, "train"), valid = load_split(set, "valid"), test = load_split(set, "test");
      EXPECT_EQ(train.num_sequences(), test.num_sequences());
      for (int64_t k = 0; k < test.num_sequences(); ++k) {
        EXPECT_EQ(valid.length(k), test.length(k) - 1);
        EXPECT_EQ(train.length(k), test.length(k) - 2);
      }
    }
    std::string tool = std::string(SEQMEND_SOURCE_DIR) + "/tools/read_shard_h5py.py";
    if (fs::exists(tool)) {
      FILE* p = popen(("/usr/bin/python3 " + tool + " " + out + " --quiet 2>&1").c_str(), "r");
      std::string text;
      char buf[4096];
      size_t n;
      while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
      int status = p ? pclose(p) : -1;
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
      EXPECT_NE(text.find("OK"), std::string::npos) << text;
    }
    return set;
  }

  // Runs ingest, expects failure with `part` in the message and no output directory.
  void ingest_fails(const std::string& args, const std::string& part) {
    std::string out = path("out");
    fs::remove_all(out);
    CliRun r = run("ingest " + args + " --out " + out);
    EXPECT_NE(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find(part), std::string::npos) << "output: " << r.output << "\nexpected: " << part;
    EXPECT_FALSE(fs::exists(out)) << r.output;
  }

  test::TempDir tmp_{"seqmend_ingest_cli"};
  fs::path dir_ = tmp_.path();
};

TEST_F(IngestCli, Help) {
  CliRun r = run("ingest --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.output.find("--format"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("clean.min_user_events"), std::string::npos) << r.output;
}

TEST_F(IngestCli, ShippedMl100kConfigResolves) {
  std::string cfg = std::string(SEQMEND_SOURCE_DIR) + "/experiments/configs/ingest_ml100k.yaml";
  CliRun r = run("ingest --config " + cfg + " --print-config --out " + path("out"));
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("min_user_events: 5"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("out")));
  std::string data = std::string(SEQMEND_SHARED_DIR) + "/data/ml-100k";
  if (!fs::exists(data + "/ml-100k.inter")) GTEST_SKIP() << "MovieLens-100K not found at " << data;
  r = run("ingest --config " + cfg + " --input " + data + " --out " + path("out") + " fsync=false");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("train 943 seq / 97401 events, valid 943 / 98344, test 943 / 99287"), std::string::npos)
      << r.output;
}

TEST_F(IngestCli, MovieLensUDataAndRatingsDat) {
  // User 7: items 3, 1, 2 in time order (rows unsorted); user 2: items 5, 4, 6, 1.
  std::string rows[][4] = {{"7", "1", "4", "200"}, {"2", "4", "5", "20"}, {"7", "3", "2", "100"},
                           {"2", "5", "1", "10"},  {"7", "2", "5", "300"}, {"2", "6", "3", "30"},
                           {"2", "1", "4", "40"}};
  std::string tab, colons;
  for (auto& r : rows) {
    tab += r[0] + "\t" + r[1] + "\t" + r[2] + "\t" + r[3] + "\n";
    colons += r[0] + "::" + r[1] + "::" + r[2] + "::" + r[3] + "\n";
  }
  for (const std::string& file : {write("u.data", tab), write("ratings.dat", colons)}) {
    ShardSet set = ingest_ok("--format movielens --input " + file);
    EXPECT_EQ(set.user_ids(), (std::vector<std::string>{"2", "7"}));
    EXPECT_EQ(test_items(set, 0), (std::vector<std::string>{"5", "4", "6", "1"}));
    EXPECT_EQ(test_items(set, 1), (std::vector<std::string>{"3", "1", "2"}));
    EXPECT_TRUE(set.has_column("action"));  // ratings as actions by default
  }
}

TEST_F(IngestCli, RecBoleWithThreshold) {
  std::string f = write("d.inter",
                        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                        "1\t10\t5\t1\n1\t11\t2\t2\n1\t12\t4\t3\n1\t13\t4.5\t4\n1\t14\t5\t5\n");
  ShardSet set = ingest_ok("--format recbole --input " + f + " clean.rating=threshold clean.rating_threshold=4");
  EXPECT_EQ(test_items(set, 0), (std::vector<std::string>{"10", "12", "13", "14"}));
  EXPECT_FALSE(set.has_column("action"));
  EXPECT_EQ(set.extra()["ingest"]["steps"][4]["detail"]["removed"], 1);
}

TEST_F(IngestCli, TaobaoKeepsBuysAndCarts) {
  std::string f = write("UserBehavior.csv",
                        "1,100,9,pv,1511544070\n1,101,9,buy,1511544071\n1,102,9,cart,1511544072\n"
                        "1,103,9,fav,1511544073\n1,104,9,buy,1511544074\n1,101,9,buy,1511544071\n");
  ShardSet set = ingest_ok("--format taobao --input " + f + " clean.keep_actions=[buy,cart]");
  // The repeated buy of 101 at the same second is a duplicate.
  EXPECT_EQ(test_items(set, 0), (std::vector<std::string>{"101", "102", "104"}));
  EXPECT_EQ(set.extra()["ingest"]["steps"][3]["detail"]["removed"], 1);
  SequenceSet test = load_split(set, "test");
  EXPECT_EQ(test.action, (std::vector<int8_t>{kActionBuy, kActionCart, kActionBuy}));
}

TEST_F(IngestCli, SeqlineWithUserIds) {
  std::string f = write("seqs.txt", "u1 5 6 7 5\nu2 8 9 10\n");
  ShardSet set = ingest_ok("--format seqline --input " + f + " parse.user_first=true parse.string_ids=true");
  EXPECT_EQ(set.user_ids(), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(test_items(set, 0), (std::vector<std::string>{"5", "6", "7", "5"}));  // repeats kept
  EXPECT_FALSE(set.has_column("timestamp"));
}

TEST_F(IngestCli, CsvFromConfigFileWithOverride) {
  std::string f = write("log.tsv",
                        "ts;member;sku;what\n"
                        "2024-01-01T00:00:03Z;a;x;B\n2024-01-01T00:00:01Z;a;y;V\n2024-01-01T00:00:02Z;a;z;V\n"
                        "2024-01-01T00:00:01Z;b;x;V\n2024-01-01T00:00:05Z;b;y;B\n2024-01-01T00:00:09Z;b;w;V\n");
  std::string cfg = write("ingest.yaml",
                          "format: csv\n"
                          "parse:\n"
                          "  separator: \";\"\n"
                          "  string_ids: true\n"
                          "  timestamp_unit: iso8601\n"
                          "  columns: {user: member, item: sku, timestamp: ts, action: what}\n"
                          "  action_map: [B=buy, V=view]\n"
                          "clean:\n"
                          "  item_order: frequency\n");
  ShardSet set = ingest_ok("--config " + cfg + " --input " + f + " split.method=temporal split.valid_time=" +
                           std::to_string(1704067200 + 3) + " split.test_time=" + std::to_string(1704067200 + 5));
  EXPECT_EQ(set.extra()["split"]["method"], "temporal");
  // Temporal: train = events before 00:00:03 (a: y z; b: x); test = before 00:00:05 + first after (b: x y).
  SequenceSet train = load_split(set, "train"), test = load_split(set, "test");
  EXPECT_EQ(train.num_events(), 3);
  EXPECT_EQ(test.num_sequences(), 1);
  EXPECT_EQ(test_items(set, 0), (std::vector<std::string>{"x", "y"}));
  // By frequency: x and y twice, y first seen (user a's first event), then z and w once.
  EXPECT_EQ(set.item_ids(), (std::vector<std::string>{"y", "x", "z", "w"}));
}

TEST_F(IngestCli, BadInputExitsNonZeroWithoutOutput) {
  ingest_fails("--format movielens --input " + write("empty.data", ""), "empty file");
  ingest_fails("--format movielens --input " + path("missing.data"), "cannot open");
  ingest_fails("--format movielens --input " + write("commas.data", "1,2,3,4\n"),
               "commas.data:1: expected at least 4 fields");
  ingest_fails("--format csv --input " + write("h.csv", "user_id,item_id\n1,2\n"), "missing column 'timestamp'");
  ingest_fails("--format csv --input " + write("ts.csv", "user_id,item_id,timestamp\n1,2,3\n1,3,-7\n") +
                   " parse.strict=true",
               "ts.csv:3: timestamp -7 is outside");
  ingest_fails("--format taobao --input " + write("ids.csv", "1,2,3,pv,10\nuser,2,3,pv,10\n") + " parse.strict=true",
               "ids.csv:2: user 'user' is not an integer id");
  ingest_fails("--format csv --input " + write("ok.csv", "user_id,item_id,timestamp\n1,2,3\n") + " clean.min_sq_len=2",
               "min_seq_len");  // misspelt key: the config reader suggests the right one
  CliRun r = run("ingest --format nosuch --input x --out " + path("out"));
  EXPECT_NE(r.rc, 0);
  EXPECT_FALSE(fs::exists(path("out")));
  r = run("ingest --format csv --input " + path("ok.csv"));  // no --out
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.output.find("--out"), std::string::npos) << r.output;
}


// A CSV log big enough that ingest takes a while: `rows` events of 2,000 users over 500 items.
std::string big_log(int rows) {
  std::mt19937 g(5);
  std::string text = "user_id,item_id,timestamp\n";
  for (int r = 0; r < rows; ++r)
    text += std::to_string(r % 2000) + "," + std::to_string(1 + g() % 500) + "," + std::to_string(1000 + r) + "\n";
  return text;
}

// What a shell script prints on stdout.
std::string sh(const std::string& script) {
  std::string out;
  FILE* p = popen(("sh -c '" + script + "'").c_str(), "r");
  if (!p) return out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// Entries of `dir` that are neither the output nor its lock file.
std::vector<std::string> leftovers(const fs::path& dir, const std::string& out) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f != out && f != "." + out + ".lock" && e.is_directory()) v.push_back(f);
  }
  return v;
}

// Two ingests into one --out started 0-0.1 s apart, twenty times: exactly one writes the set, the
// other exits non-zero saying why, and the set that remains is whole.
TEST_F(IngestCli, ConcurrentIngestsIntoOneDirectoryLeaveOneWholeSet) {
  const std::string in = write("log.csv", big_log(20000));
  for (int trial = 0; trial < 20; ++trial) {
    const std::string out = path("out");
    fs::remove_all(out);
    const std::string one = std::string(SEQMEND_BINARY) + " ingest --format csv --input " + in + " --out " + out +
                            " fsync=false";
    const std::string script = one + " >" + path("o1") + " 2>&1 & p1=$!; sleep 0.0" + std::to_string(trial % 10) +
                               "; " + one + " >" + path("o2") + " 2>&1 & p2=$!; wait $p1; echo rc1=$?; wait $p2; echo rc2=$?";
    const std::string rcs = sh(script);
    const bool first_ok = rcs.find("rc1=0") != std::string::npos, second_ok = rcs.find("rc2=0") != std::string::npos;
    auto slurp = [&](const std::string& f) {
      std::ifstream s(path(f));
      return std::string(std::istreambuf_iterator<char>(s), {});
    };
    ASSERT_NE(first_ok, second_ok) << "trial " << trial << ": " << rcs << slurp("o1") << slurp("o2");
    const std::string loser = slurp(first_ok ? "o2" : "o1");
    EXPECT_TRUE(loser.find("is being written by") != std::string::npos ||
                loser.find("is not empty") != std::string::npos)
        << loser;
    ShardSet set = ShardSet::open(out);
    EXPECT_EQ(load_split(set, "test").num_sequences(), 2000) << "trial " << trial;
    EXPECT_TRUE(leftovers(dir_, "out").empty());
  }
}

// --overwrite with an input that fails after the new shards were written: the old set is still
// there, whole and unchanged.
TEST_F(IngestCli, FailingOverwriteKeepsThePreviousSet) {
  ingest_ok("--format csv --input " + write("good.csv", "user_id,item_id,timestamp\n1,a,1\n1,b,2\n1,c,3\n2,a,4\n2,c,5\n2,d,6\n") +
            " parse.string_ids=true");
  std::ifstream m0(path("out/manifest.json"));
  const std::string before(std::istreambuf_iterator<char>(m0), {});
  const std::string bad = write("bad.csv", "user_id,item_id,timestamp\n1,a,1\n1,\xff\xfe,2\n1,c,3\n");
  CliRun r = run("ingest --format csv --input " + bad + " --out " + path("out") + " parse.string_ids=true --overwrite fsync=false");
  EXPECT_NE(r.rc, 0) << r.output;
  std::ifstream m1(path("out/manifest.json"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(m1), {}), before) << r.output;
  EXPECT_EQ(load_split(ShardSet::open(path("out")), "test").num_sequences(), 2);
  EXPECT_TRUE(leftovers(dir_, "out").empty());
}

// SIGTERM at several moments of an ingest: afterwards --out is absent or whole, never partial, and
// the next ingest removes what the killed one left and says so.
TEST_F(IngestCli, SigtermMidWriteLeavesAWholeSetOrNone) {
  const std::string in = write("log.csv", big_log(400000));
  int interrupted = 0;
  for (const char* delay : {"0.05", "0.15", "0.3", "0.5", "0.8"}) {
    const std::string out = path("out");
    fs::remove_all(out);
    const std::string script = std::string(SEQMEND_BINARY) + " ingest --format csv --input " + in + " --out " + out +
                               " fsync=false >/dev/null 2>&1 & p=$!; sleep " + delay + "; kill -TERM $p; wait $p; echo rc=$?";
    const std::string rc = sh(script);
    if (rc.find("rc=0") == std::string::npos) ++interrupted;
    if (fs::exists(out)) {
      EXPECT_EQ(load_split(ShardSet::open(out), "test").num_sequences(), 2000) << "delay " << delay;
      continue;
    }
    const bool left = !leftovers(dir_, "out").empty();
    CliRun again = run("ingest --format csv --input " + in + " --out " + out + " fsync=false");
    EXPECT_EQ(again.rc, 0) << again.output;
    if (left) {
      EXPECT_NE(again.output.find("did not finish"), std::string::npos) << again.output;
    }
    EXPECT_TRUE(leftovers(dir_, "out").empty());
  }
  EXPECT_GT(interrupted, 0) << "no SIGTERM arrived before ingest finished: the test proved nothing";
}


// A real full disk: a 300 KB tmpfs as --out. The error is ours, cause first, the exit code 1 (not a
// crash in HDF5's shutdown), and nothing but the lock file is left on the full file system.
TEST_F(IngestCli, FullDiskIsAnOrdinaryError) {
  test_support::Tmpfs disk(path("full"), "300k");
  if (!disk.ok()) GTEST_SKIP() << disk.why();
  const std::string in = write("log.csv", big_log(60000));
  CliRun r = run("ingest --format csv --input " + in + " --out " + path("full/out"));
  EXPECT_EQ(r.rc, 1) << r.output;
  EXPECT_EQ(r.output.rfind("seqmend: error: no space left on device writing ", 0), 0u) << r.output;
  EXPECT_EQ(r.output.find("Segmentation"), std::string::npos) << r.output;
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(path("full"))) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, (std::vector<std::string>{".out.lock"}));
}


// Arguments are recorded as UTF-8 text (run.json, manifests): one that is not is refused up front,
// naming it, before anything is created.
TEST_F(IngestCli, ArgumentsThatAreNotUtf8AreRefused) {
  const std::string in = write("ok.csv", "user_id,item_id,timestamp\n1,2,3\n");
  CliRun r = run("ingest --format csv --input " + in + " --out '" + path("out\xff") + "'");
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("is not valid UTF-8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("out\\xFF"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("json.exception"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("out\xff")));
}

}  // namespace
}  // namespace seqmend
