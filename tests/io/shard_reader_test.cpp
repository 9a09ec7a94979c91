// ShardReader: subsets of shards, batches across shard boundaries, rank assignment, and what a
// damaged, truncated or foreign shard does to a reader.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "core/base/error.h"
#include "io/file_checksum.h"
#include "io/shard_set.h"
#include "io/shard_test_util.h"

namespace seqmend {
namespace {
namespace fs = std::filesystem;
using namespace shard_test;

class ShardReaderTest : public ShardSetTest {
 protected:
  // 400 sequences of 0..30 events in shards of at most 200 events.
  void write_default() {
    data_ = make_set(400, 120, 50, 31);
    ShardOptions o;
    o.max_events_per_shard = 200;
    write_shard_set(dir(), make_info(120, 50), {{"train", data_}}, o);
  }
  // First sequence of each shard in data_.
  std::vector<int64_t> shard_starts(const ShardSet& set) const {
    std::vector<int64_t> starts{0};
    for (const auto& e : set.split("train").shards) starts.push_back(starts.back() + e.sequences);
    return starts;
  }
  SequenceSet data_;
};

TEST_F(ShardReaderTest, ReadsExactlyTheChosenShardsInTheGivenOrder) {
  write_default();
  ShardSet set = ShardSet::open(dir());
  ASSERT_GE(set.split("train").num_shards(), 6);
  std::vector<int64_t> starts = shard_starts(set);
  ShardReader r(set, "train", {4, 1, 2});
  SequenceSet want = slice(data_, starts[4], starts[5]);
  append_all(want, slice(data_, starts[1], starts[3]));
  EXPECT_EQ(r.num_sequences(), want.num_sequences());
  EXPECT_EQ(r.num_events(), want.num_events());
  SequenceSet got, batch;
  while (r.next(batch, 1000)) append_all(got, batch);
  expect_same(got, want);
  EXPECT_EQ(r.sequences_read(), want.num_sequences());

  ShardReader none(set, "train", std::vector<int64_t>{});
  EXPECT_FALSE(none.next(batch, 10));
  std::string err = error_of([&] { ShardReader(set, "train", std::vector<int64_t>{999}); });
  EXPECT_NE(err.find("no shard 999"), std::string::npos) << err;
}

TEST_F(ShardReaderTest, BatchesRunAcrossShardBoundaries) {
  write_default();
  ShardSet set = ShardSet::open(dir());
  ShardReader r(set, "train");
  SequenceSet got, batch;
  int64_t batches = 0;
  while (r.next(batch, 7)) {
    ASSERT_NO_THROW(batch.validate(set.num_items()));
    if (got.num_sequences() + 7 <= data_.num_sequences()) {
      EXPECT_EQ(batch.num_sequences(), 7);  // never cut short
    }
    append_all(got, batch);
    ++batches;
  }
  EXPECT_EQ(batches, (400 + 6) / 7);
  expect_same(got, data_);

  // Rewind starts over; an event budget bounds each batch (a longer sequence comes alone).
  r.rewind();
  EXPECT_EQ(r.sequences_read(), 0);
  SequenceSet again;
  while (r.next(batch, 1000, 45)) {
    EXPECT_TRUE(batch.num_events() <= 45 || batch.num_sequences() == 1) << batch.num_events();
    append_all(again, batch);
  }
  expect_same(again, data_);
  EXPECT_THROW(r.next(batch, 0), Error);
}

TEST_F(ShardReaderTest, EventBudgetSmallerThanEverySequenceYieldsOneSequencePerBatch) {
  SequenceSet s = make_set(20, 30, 10, 32, {}, 5, 9);
  write_shard_set(dir(), make_info(30, 10), {{"all", s}});
  ShardReader r(ShardSet::open(dir()), "all");
  SequenceSet batch;
  int64_t n = 0;
  while (r.next(batch, 10, 2)) {
    EXPECT_EQ(batch.num_sequences(), 1);
    ++n;
  }
  EXPECT_EQ(n, 20);
}

TEST_F(ShardReaderTest, RanksTogetherReadEverySequenceOnce) {
  write_default();
  ShardSet set = ShardSet::open(dir());
  const int64_t shards = set.split("train").num_shards();
  for (auto how : {ShardAssignment::kRoundRobin, ShardAssignment::kContiguous}) {
    for (int world : {1, 2, 3, 5, int(shards) + 3}) {
      std::multiset<int64_t> seen;
      SequenceSet concat;
      for (int rank = 0; rank < world; ++rank) {
        std::vector<int64_t> mine = assign_shards(shards, rank, world, how);
        EXPECT_EQ(mine, assign_shards(shards, rank, world, how));  // deterministic
        seen.insert(mine.begin(), mine.end());
        if (how == ShardAssignment::kContiguous) {
          SequenceSet batch;
          ShardReader r(set, "train", mine);
          while (r.next(batch, 64)) append_all(concat, batch);
        }
      }
      std::multiset<int64_t> all;
      for (int64_t k = 0; k < shards; ++k) all.insert(k);
      EXPECT_EQ(seen, all) << "world " << world;
      if (how == ShardAssignment::kContiguous) expect_same(concat, data_);  // blocks in rank order
    }
  }
  EXPECT_EQ(assign_shards(10, 1, 4), (std::vector<int64_t>{1, 5, 9}));
  EXPECT_EQ(assign_shards(10, 1, 4, ShardAssignment::kContiguous), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(assign_shards(10, 3, 4, ShardAssignment::kContiguous), (std::vector<int64_t>{8, 9}));
  EXPECT_THROW(assign_shards(10, 4, 4), Error);
}

// Bytes this process has read through read(2) and pread(2) so far (/proc/self/io); -1 where the
// kernel does not say.
int64_t bytes_read_by_process() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value)
    if (key == "rchar:") return value;
  return -1;
}

TEST_F(ShardReaderTest, SequenceLengthsComeFromTheOffsetsInOrder) {
  write_default();
  ShardSet set = ShardSet::open(dir());
  ASSERT_GE(set.split("train").num_shards(), 6);
  const std::vector<int64_t> lengths = read_sequence_lengths(set, "train");
  ASSERT_EQ(int64_t(lengths.size()), data_.num_sequences());
  for (int64_t s = 0; s < data_.num_sequences(); ++s) EXPECT_EQ(lengths[size_t(s)], data_.length(s)) << s;
}

// The point of the lengths pass: a rank that reads only the shards its batches need (the loader's
// cache mode) no longer reads every shard whole at start-up to learn the lengths.
TEST_F(ShardReaderTest, TheLengthsPassReadsAFewBytesPerSequenceNotTheEvents) {
  const SequenceSet big = make_set(3000, 50000, 100, 7, {}, 100, 300);
  ShardOptions o;
  o.target_shards = 6;  // shards of ~100k events; a shard's HDF5 metadata is ~10 KB whatever its size
  write_shard_set(dir(), make_info(50000, 100), {{"train", big}}, o);
  ShardSet set = ShardSet::open(dir());
  ASSERT_GE(set.split("train").num_shards(), 4);
  int64_t shard_bytes = 0;
  for (const auto& e : set.split("train").shards) shard_bytes += e.bytes;
  const int64_t before = bytes_read_by_process();
  if (before < 0) GTEST_SKIP() << "/proc/self/io has no rchar here: bytes read cannot be counted";
  const std::vector<int64_t> lengths = read_sequence_lengths(set, "train");
  const int64_t lengths_pass = bytes_read_by_process() - before;
  ASSERT_EQ(int64_t(lengths.size()), big.num_sequences());
  const int64_t before_full = bytes_read_by_process();
  load_split(set, "train");
  const int64_t full = bytes_read_by_process() - before_full;
  std::printf("lengths pass: %lld bytes read; full read: %lld; shards: %lld bytes\n", (long long)lengths_pass,
              (long long)full, (long long)shard_bytes);
  EXPECT_GE(full, shard_bytes) << "a full read reads every byte (its CRC-32 included), or the count is wrong";
  EXPECT_LT(lengths_pass, shard_bytes / 20) << lengths_pass << " of " << shard_bytes << " shard bytes";
}

class ShardDamageTest : public ShardSetTest {
 protected:
  void SetUp() override {
    ShardSetTest::SetUp();
    ShardOptions o;
    o.max_events_per_shard = 2000;
    o.chunk_elements = 256;
    write_shard_set(dir(), make_info(300, 60), {{"train", make_set(300, 300, 60, 41, {}, 1, 30)}}, o);
    set_ = std::make_unique<ShardSet>(ShardSet::open(dir()));
    shard_ = set_->shard_path("train", 0);
  }
  // Byte range of chunk `index` of `dataset` inside the shard file.
  std::pair<haddr_t, hsize_t> chunk_of(const char* dataset, hsize_t index) {
    hid_t f = H5Fopen(shard_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, dataset, H5P_DEFAULT);
    hid_t sp = H5Dget_space(d);
    hsize_t offset = 0, size = 0;
    unsigned mask = 0;
    haddr_t addr = 0;
    EXPECT_GE(H5Dget_chunk_info(d, sp, index, &offset, &mask, &addr, &size), 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    return {addr, size};
  }
  void flip_bytes(int64_t at, int count) {
    std::fstream f(shard_, std::ios::in | std::ios::out | std::ios::binary);
    for (int i = 0; i < count; ++i) {
      f.seekg(at + i);
      char c = 0;
      f.read(&c, 1);
      c = char(~c);
      f.seekp(at + i);
      f.write(&c, 1);
    }
  }
  // Rewrites the manifest's size and CRC-32 for shard 0, as if the damage happened before it was written.
  void reseal_manifest() {
    nlohmann::json m = read_json(dir() + "/manifest.json");
    m["splits"]["train"]["shards"][0]["bytes"] = file_size(shard_);
    m["splits"]["train"]["shards"][0]["crc32"] = file_crc32(shard_);
    write_json(dir() + "/manifest.json", m);
  }
  std::string read_all(ShardReaderOptions o = {}) {
    return error_of([&] { ShardReader r(ShardSet::open(dir()), "train", {0}, o); SequenceSet b; while (r.next(b, 50)) {} });
  }
  std::unique_ptr<ShardSet> set_;
  std::string shard_;
};

TEST_F(ShardDamageTest, UndamagedShardReads) { EXPECT_EQ(read_all(), "(no error)"); }

TEST_F(ShardDamageTest, FlippedBytesInAChunkAreACheckumMismatchNamingTheFile) {
  auto [addr, size] = chunk_of("item", 1);
  ASSERT_GT(size, 16u);
  flip_bytes(int64_t(addr + size / 2), 4);
  std::string err = read_all();
  EXPECT_NE(err.find(shard_ + ": checksum mismatch"), std::string::npos) << err;
}

TEST_F(ShardDamageTest, FlippedBytesInAChunkFailFletcher32WithoutTheFileChecksum) {
  auto [addr, size] = chunk_of("item", 1);
  flip_bytes(int64_t(addr + size / 2), 4);
  ShardReaderOptions o;
  o.verify_checksum = false;
  std::string err = read_all(o);
  EXPECT_NE(err.find(shard_ + ": reading dataset 'item'"), std::string::npos) << err;
  // Also when the manifest was sealed over the damage: HDF5's own per-chunk checksum catches it.
  reseal_manifest();
  err = read_all();
  EXPECT_NE(err.find(shard_ + ": reading dataset 'item'"), std::string::npos) << err;
}

TEST_F(ShardDamageTest, TruncatedFileIsNamed) {
  const int64_t size = file_size(shard_);
  fs::resize_file(shard_, uintmax_t(size / 2));
  std::string err = read_all();
  EXPECT_NE(err.find(shard_), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  reseal_manifest();  // the size check passes now; HDF5 itself must notice
  err = read_all();
  EXPECT_NE(err.find(shard_ + ": opening shard"), std::string::npos) << err;
}

// Counts in a damaged or hostile manifest are checked before anything is sized by them: negative
// counts, counts no file of that size can hold, and top-level totals that disagree with the splits.
TEST_F(ShardDamageTest, ImpossibleManifestCountsFailBeforeAnyAllocation) {
  const nlohmann::json good = read_json(dir() + "/manifest.json");
  auto with = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json m = good;
    edit(m);
    write_json(dir() + "/manifest.json", m);
    return error_of([&] { ShardSet::open(dir()); });
  };
  auto shard0 = [](nlohmann::json& m) -> nlohmann::json& { return m["splits"]["train"]["shards"][0]; };
  std::string err = with([&](nlohmann::json& m) {
    shard0(m)["events"] = shard0(m)["events"].get<int64_t>() - 1000000;
    m["splits"]["train"]["events"] = m["splits"]["train"]["events"].get<int64_t>() - 1000000;
  });
  EXPECT_NE(err.find("negative count"), std::string::npos) << err;
  err = with([&](nlohmann::json& m) {
    shard0(m)["events"] = int64_t(1) << 50;
    m["splits"]["train"]["events"] = (int64_t(1) << 50) + m["splits"]["train"]["events"].get<int64_t>() -
                                     good["splits"]["train"]["shards"][0]["events"].get<int64_t>();
  });
  EXPECT_NE(err.find("cannot fit in a file of"), std::string::npos) << err;
  err = with([&](nlohmann::json& m) { m["num_events"] = m["num_events"].get<int64_t>() + 1; });
  EXPECT_NE(err.find("do not match the splits' totals"), std::string::npos) << err;
  err = with([&](nlohmann::json& m) { shard0(m)["bytes"] = shard0(m)["bytes"].get<int64_t>() - 7; });
  EXPECT_NE(err.find("(file was changed)"), std::string::npos) << err;
  write_json(dir() + "/manifest.json", good);
  EXPECT_EQ(error_of([&] { ShardSet::open(dir()); }), "(no error)");
}

TEST_F(ShardDamageTest, WrongShardFormatVersionIsRejected) {
  hid_t f = H5Fopen(shard_.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
  int64_t v = 7;
  H5Awrite(a, H5T_NATIVE_INT64, &v);
  H5Aclose(a);
  H5Fclose(f);
  reseal_manifest();
  std::string err = read_all();
  EXPECT_NE(err.find(shard_ + ": format version 7, expected 1"), std::string::npos) << err;
}

TEST_F(ShardDamageTest, ShardSwappedWithAnotherSplitIsRejected) {
  ShardOptions o;
  o.overwrite = true;
  write_shard_set(dir("other"), make_info(300, 60), {{"valid", make_set(300, 300, 60, 41, {}, 1, 30)}}, o);
  fs::copy_file(dir("other") + "/valid-00000.h5", shard_, fs::copy_options::overwrite_existing);
  reseal_manifest();
  std::string err = read_all();
  EXPECT_NE(err.find("belongs to split 'valid'"), std::string::npos) << err;
}

TEST_F(ShardDamageTest, MissingShardFileIsNamedWhenOpening) {
  fs::remove(shard_);
  std::string err = error_of([&] { ShardSet::open(dir()); });
  EXPECT_NE(err.find(shard_ + ": shard file listed in"), std::string::npos) << err;
}

TEST_F(ShardDamageTest, TheLengthsPassChecksTheOffsetsAndTheSizeButNotTheEvents) {
  EXPECT_EQ(error_of([&] { read_sequence_lengths(*set_, "train"); }), "(no error)");
  // Damaged events: found when the shard's sequences are read, not by a pass that never reads them.
  auto [item_at, item_size] = chunk_of("item", 1);
  flip_bytes(int64_t(item_at + item_size / 2), 4);
  EXPECT_EQ(error_of([&] { read_sequence_lengths(*set_, "train"); }), "(no error)");
  EXPECT_NE(read_all().find("checksum mismatch"), std::string::npos);
  // Damaged offsets: fletcher32 catches them.
  auto [off_at, off_size] = chunk_of("offsets", 0);
  flip_bytes(int64_t(off_at + off_size / 2), 4);
  std::string err = error_of([&] { read_sequence_lengths(*set_, "train"); });
  EXPECT_NE(err.find(shard_ + ": reading dataset 'offsets'"), std::string::npos) << err;
  // A truncated shard: its size, checked without reading it.
  fs::resize_file(shard_, uintmax_t(file_size(shard_) / 2));
  err = error_of([&] { read_sequence_lengths(*set_, "train"); });
  EXPECT_NE(err.find(shard_ + ": file is "), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
}

}  // namespace
}  // namespace seqmend
