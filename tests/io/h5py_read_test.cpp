// The shard format must be readable without seqmend: tools/read_shard_h5py.py opens a shard set
// with h5py alone (following io/FORMAT.md) and prints every sequence; this test compares that
// text with the sequences it wrote.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/shard_set.h"
#include "io/shard_test_util.h"

namespace seqmend {
namespace {
using namespace shard_test;

const char* kPython = "/usr/bin/python3";

// Runs a shell command; returns its exit status and stdout+stderr.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

template <typename T>
std::string joined(const std::vector<T>& v, int64_t lo, int64_t hi) {
  std::ostringstream os;
  for (int64_t i = lo; i < hi; ++i) os << (i > lo ? "," : "") << int64_t(v[size_t(i)]);
  return os.str();
}

// The script's expected output for `splits` as written with shard boundaries from `set`.
std::string expected_text(const ShardSet& set, const std::map<std::string, SequenceSet>& splits) {
  std::ostringstream os;
  int64_t seqs = 0, events = 0;
  for (const auto& [name, s] : splits) {
    int64_t n = 0;
    const SplitInfo& info = set.split(name);
    for (int64_t k = 0; k < info.num_shards(); ++k) {
      for (int64_t j = 0; j < info.shards[size_t(k)].sequences; ++j, ++n) {
        int64_t lo = s.offsets[size_t(n)], hi = s.offsets[size_t(n) + 1];
        os << name << " " << k << " " << n << " user=" << s.user[size_t(n)] << ":"
           << set.user_ids()[size_t(s.user[size_t(n)])] << " items=" << joined(s.item, lo, hi);
        if (s.has_timestamps()) os << " timestamp=" << joined(s.timestamp, lo, hi);
        if (s.has_actions()) os << " action=" << joined(s.action, lo, hi);
        if (s.has_labels()) os << " label=" << joined(s.label, lo, hi) << " seq_label=" << int(s.seq_label[size_t(n)]);
        os << "\n";
      }
    }
    seqs += s.num_sequences();
    events += s.num_events();
  }
  os << "OK " << seqs << " sequences, " << events << " events\n";
  return os.str();
}

class H5pyReadTest : public ShardSetTest {
 protected:
  void SetUp() override {
    ShardSetTest::SetUp();
    if (!std::filesystem::exists(kPython)) GTEST_SKIP() << kPython << " is missing: cannot check h5py readability";
    auto [rc, out] = run(std::string(kPython) + " -c 'import h5py, numpy'");
    if (rc != 0) GTEST_SKIP() << "h5py or numpy is missing for " << kPython << ": " << out;
    script_ = std::string(SEQMEND_SOURCE_DIR) + "/tools/read_shard_h5py.py";
  }
  std::string script_;
};

TEST_F(H5pyReadTest, PythonSeesExactlyTheSequencesWritten) {
  std::map<std::string, SequenceSet> splits{{"train", make_set(60, 80, 25, 51)}, {"test", make_set(15, 80, 25, 52)}};
  ShardOptions o;
  o.max_events_per_shard = 150;
  write_shard_set(dir(), make_info(80, 25), splits, o);
  ShardSet set = ShardSet::open(dir());
  ASSERT_GT(set.split("train").num_shards(), 2);
  auto [rc, out] = run(std::string(kPython) + " " + script_ + " " + dir());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out, expected_text(set, splits));
}

TEST_F(H5pyReadTest, PythonSeesSetsWithoutOptionalColumns) {
  std::map<std::string, SequenceSet> splits{{"all", make_set(30, 40, 10, 53, Columns{false, false, false})}};
  write_shard_set(dir(), make_info(40, 10), splits);
  auto [rc, out] = run(std::string(kPython) + " " + script_ + " " + dir());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(out, expected_text(ShardSet::open(dir()), splits));
}

TEST_F(H5pyReadTest, PythonChecksumCatchesADamagedShard) {
  write_shard_set(dir(), make_info(40, 10), {{"all", make_set(30, 40, 10, 54)}});
  const std::string shard = dir() + "/all-00000.h5";
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    const auto mid = std::streamoff(std::filesystem::file_size(shard) / 2);
    char c = 0;
    f.seekg(mid);
    f.read(&c, 1);
    c = char(~c);  // always a change
    f.seekp(mid);
    f.write(&c, 1);
  }
  auto [rc, out] = run(std::string(kPython) + " " + script_ + " " + dir() + " --quiet");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find(shard + ": checksum mismatch"), std::string::npos) << out;
}

}  // namespace
}  // namespace seqmend
