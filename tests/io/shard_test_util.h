// Test helpers shared by the shard-set tests: random sequence sets, comparisons, a scratch directory.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "core/base/error.h"
#include "io/sequence_set.h"
#include "io/shard_set.h"
#include "tests/support/temp_dir.h"

namespace seqmend::shard_test {

struct Columns {
  bool timestamp = true, action = true, label = true;
};

// Random sequences with every column filled, lengths 0..max_len (zero-length ones included when
// min_len is 0), item ids 1..num_items, users 0..num_users-1.
inline SequenceSet make_set(int64_t n, int64_t num_items, int64_t num_users, uint32_t seed, Columns c = {},
                     int64_t min_len = 0, int64_t max_len = 30) {
  std::mt19937 rng(seed);
  SequenceSet s;
  std::uniform_int_distribution<int64_t> len(min_len, max_len), item(1, num_items), user(0, num_users - 1);
  std::uniform_int_distribution<int> act(0, 5), lab(0, 7);
  for (int64_t i = 0; i < n; ++i) {
    int64_t L = len(rng);
    // One spare element: data() of these is never null, even for a zero-length sequence.
    std::vector<int32_t> items(static_cast<size_t>(L) + 1);
    std::vector<int64_t> ts(static_cast<size_t>(L) + 1);
    std::vector<int8_t> acts(static_cast<size_t>(L) + 1), labs(static_cast<size_t>(L) + 1);
    int64_t t = 1600000000 + int64_t(rng() % 100000);
    for (int64_t j = 0; j < L; ++j) {
      items[size_t(j)] = int32_t(item(rng));
      t += int64_t(rng() % 600);
      ts[size_t(j)] = t;
      acts[size_t(j)] = int8_t(act(rng));
      labs[size_t(j)] = int8_t(lab(rng) < 6 ? 0 : lab(rng) % 5);
    }
    s.append(user(rng), items.data(), L, c.timestamp ? ts.data() : nullptr, c.action ? acts.data() : nullptr,
             c.label ? labs.data() : nullptr, int8_t(c.label ? (i % 9 == 0 ? kLabelBotPush : 0) : 0));
  }
  return s;
}

inline ManifestInfo make_info(int64_t num_items, int64_t num_users) {
  ManifestInfo info;
  info.source = "shard_set_test synthetic data";
  // Appended rather than "u" + to_string(u): GCC 12 warns falsely (-Wrestrict) on the latter inlined.
  for (int64_t i = 0; i < num_items; ++i) info.item_ids.push_back(std::string("item-").append(std::to_string(i * 7 + 3)));
  for (int64_t u = 0; u < num_users; ++u) info.user_ids.push_back(std::string("u").append(std::to_string(u)));
  info.extra = {{"producer", "test"}, {"seed", 42}};
  return info;
}

inline void expect_same(const SequenceSet& a, const SequenceSet& b) {
  EXPECT_EQ(a.offsets, b.offsets);
  EXPECT_EQ(a.item, b.item);
  EXPECT_EQ(a.timestamp, b.timestamp);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(a.seq_label, b.seq_label);
}

// Appends sequence i of src to dst through SequenceSet::append. Pointers are never null for a
// column src has, even for a zero-length sequence, so that append sees the column as given.
inline void append_one(SequenceSet& dst, const SequenceSet& src, int64_t i) {
  static const int32_t no_item = 0;
  static const int8_t no_code = 0;
  const size_t e = size_t(src.offsets[size_t(i)]);
  const bool labelled = !src.seq_label.empty();
  dst.append(src.user[size_t(i)], src.item.empty() ? &no_item : src.item.data() + e, src.length(i),
             src.has_timestamps() ? src.timestamp.data() + e : nullptr,
             src.has_actions() ? src.action.data() + e : nullptr,
             labelled ? (src.has_labels() ? src.label.data() + e : &no_code) : nullptr,
             labelled ? src.seq_label[size_t(i)] : int8_t(0));
}

// Sequences [begin, end) of s as a set of their own.
inline SequenceSet slice(const SequenceSet& s, int64_t begin, int64_t end) {
  SequenceSet out;
  for (int64_t i = begin; i < end; ++i) append_one(out, s, i);
  return out;
}

inline void append_all(SequenceSet& dst, const SequenceSet& src) {
  for (int64_t i = 0; i < src.num_sequences(); ++i) append_one(dst, src, i);
}

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

inline void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream(path) << j.dump(1);
}

// A fresh directory per test, removed afterwards.
class ShardSetTest : public ::testing::Test {
 protected:
  std::string dir(const std::string& name = "set") const { return tmp_ / name; }

  test::TempDir tmp_{"seqmend_shard_test"};
  std::string root_ = tmp_.str();
};

}  // namespace seqmend::shard_test
