// ranks.csv (experiments/eval/rank_file.h): what evaluate writes it reads back exactly, blanks
// where a user has no target, and a damaged file is an error with its file and line.
#include "experiments/eval/rank_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;

namespace seqmend {
namespace {

class RankFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_ / "ranks.csv").string();
  }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::string text() {
    std::ifstream f(path_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  test::TempDir tmp_{"seqmend_rank_file"};
  fs::path dir_ = tmp_.path();
  std::string path_;
};

bool same(const std::vector<UserRank>& a, const std::vector<UserRank>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].user != b[i].user || a[i].rank != b[i].rank) return false;
  return true;
}

TEST_F(RankFile, WhatIsWrittenIsReadBackWithBlanksWhereAUserHasNoTarget) {
  UserRanks r;
  r.valid = {{0, 12}, {3, 0}, {9, 1681}};
  r.test = {{0, 3}, {5, 40}, {9, 7}};  // user 5 has no valid target, user 3 no test target
  write_rank_file(path_, r);
  EXPECT_EQ(text(), "user,valid_rank,test_rank\n0,12,3\n3,0,\n5,,40\n9,1681,7\n");
  const UserRanks back = read_rank_file(path_);
  EXPECT_TRUE(same(back.valid, r.valid));
  EXPECT_TRUE(same(back.test, r.test));
}

TEST_F(RankFile, AnEmptyTrainingWritesTheHeaderAlone) {
  write_rank_file(path_, UserRanks{});
  EXPECT_EQ(text(), "user,valid_rank,test_rank\n");
  const UserRanks back = read_rank_file(path_);
  EXPECT_TRUE(back.valid.empty() && back.test.empty());
}

TEST_F(RankFile, AMalformedRowIsAnErrorWithItsFileAndLine) {
  for (const std::string bad : {"7,1", "7,1,2,3", "x,1,2", "7,1e3,2", "7,-1,2", ",1,2", "7,1,2 ", "7,,9z"}) {
    write("user,valid_rank,test_rank\n0,1,2\n" + bad + "\n4,5,6\n");
    const std::string e = test::error_of([&] { read_rank_file(path_); });
    EXPECT_NE(e.find(path_ + ":3: malformed row '" + bad + "'"), std::string::npos) << bad << ": " << e;
  }
}

TEST_F(RankFile, AMissingFileOrHeaderIsAnErrorNamingTheFile) {
  std::string e = test::error_of([&] { read_rank_file(path_); });
  EXPECT_NE(e.find(path_ + " is missing"), std::string::npos) << e;
  write("0,1,2\n");
  e = test::error_of([&] { read_rank_file(path_); });
  EXPECT_NE(e.find(path_ + " has no header"), std::string::npos) << e;
  write("");
  e = test::error_of([&] { read_rank_file(path_); });
  EXPECT_NE(e.find(path_ + " has no header"), std::string::npos) << e;
}

}  // namespace
}  // namespace seqmend
