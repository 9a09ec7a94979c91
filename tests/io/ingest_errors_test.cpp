// Bad input: each case must fail with a message naming the file (and the line where there is one),
// and must leave no output directory behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/ingest.h"
#include "tests/io/ingest_test_util.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

// Runs ingest_to_dir on `text` written as the input; returns the error message.
std::string ingest_error(const test::TempDir& dir, const std::string& format, const std::string& text,
                         IngestOptions o = {}) {
  std::string input = test::write_file(dir / "in.txt", text);
  o.format = format;
  o.input = input;
  o.fsync = false;
  std::string out = dir / "out";
  std::string msg = test::error_of([&] { ingest_to_dir(o, out); });
  EXPECT_FALSE(fs::exists(out)) << "partial output left for: " << msg;
  return msg;
}

void expect_has(const std::string& msg, const std::string& part) {
  EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg << "\nexpected to contain: " << part;
}

TEST(IngestErrors, EmptyFile) {
  test::TempDir dir("seqmend_ingest");
  std::string msg = ingest_error(dir, "movielens", "");
  expect_has(msg, dir / "in.txt");
  expect_has(msg, "empty file");
  expect_has(ingest_error(dir, "csv", "\n\n  \n"), "empty file");
}

TEST(IngestErrors, HeaderOnly) {
  test::TempDir dir("seqmend_ingest");
  expect_has(ingest_error(dir, "csv", "user_id,item_id,timestamp\n"), "no valid rows");
}

TEST(IngestErrors, WrongSeparatorWithoutHeader) {
  test::TempDir dir("seqmend_ingest");
  std::string msg = ingest_error(dir, "movielens", "1,2,3,881250949\n1,3,3,881250950\n");
  expect_has(msg, dir / "in.txt" + ":1: expected at least 4 fields");
  expect_has(msg, "wrong separator");
}

TEST(IngestErrors, WrongSeparatorWithHeader) {
  test::TempDir dir("seqmend_ingest");
  std::string msg = ingest_error(dir, "recbole", "user_id:token,item_id:token,timestamp:float\n1,2,3\n");
  // The whole line is one field; its "user_id:" prefix still reads as the user column.
  expect_has(msg, dir / "in.txt" + ":1: missing column 'item_id'");
  expect_has(msg, "wrong separator");
}

TEST(IngestErrors, NonNumericIds) {
  test::TempDir dir("seqmend_ingest");
  IngestOptions strict;
  strict.parse.strict = true;
  std::string msg = ingest_error(dir, "movielens", "1\t2\t3\t100\nalice\t2\t3\t100\n", strict);
  expect_has(msg, dir / "in.txt" + ":2: user 'alice' is not an integer id");
  // Not strict: every row bad → no valid rows, the first example named.
  msg = ingest_error(dir, "taobao", "a,1,1,pv,100\nb,2,1,pv,100\n");
  expect_has(msg, "no valid rows");
  expect_has(msg, dir / "in.txt" + ":1: user 'a'");
}

TEST(IngestErrors, TimestampOutOfRange) {
  test::TempDir dir("seqmend_ingest");
  IngestOptions strict;
  strict.parse.strict = true;
  std::string msg = ingest_error(dir, "movielens", "1\t2\t3\t100\n1\t3\t3\t99999999999\n", strict);
  expect_has(msg, dir / "in.txt" + ":2: timestamp 99999999999 is outside");
  IngestOptions narrow;
  narrow.parse.min_timestamp = 1000;
  msg = ingest_error(dir, "movielens", "1\t2\t3\t100\n1\t3\t3\t-5\n", narrow);
  expect_has(msg, "no valid rows (2 data line(s), 2 malformed");
  expect_has(msg, ":1: timestamp 100 is outside [parse.min_timestamp=1000");
}

TEST(IngestErrors, MissingColumn) {
  test::TempDir dir("seqmend_ingest");
  std::string msg = ingest_error(dir, "csv", "user_id,item_id,time\n1,2,3\n");
  expect_has(msg, dir / "in.txt" + ":1: missing column 'timestamp'");
  expect_has(msg, "user_id, item_id, time");
  // Too few fields on a data line when columns are given by index.
  IngestOptions o;
  o.parse.header = false;
  o.parse.columns = {"0", "1", "5", "-", "-"};
  msg = ingest_error(dir, "csv", "1,2,3\n", o);
  expect_has(msg, ":1: expected at least 6 fields");
}

TEST(IngestErrors, UnreadableInput) {
  test::TempDir dir("seqmend_ingest");
  IngestOptions o = test::options_for("csv", dir / "does-not-exist.csv");
  std::string msg = test::error_of([&] { ingest_to_dir(o, dir / "out"); });
  expect_has(msg, "cannot open '" + dir / "does-not-exist.csv" + "'");
  EXPECT_FALSE(fs::exists(dir / "out"));
  o.input = dir.str();  // a folder where a file is needed
  msg = test::error_of([&] { ingest_to_dir(o, dir / "out"); });
  expect_has(msg, "is a folder");
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(IngestErrors, NonEmptyOutputDirectoryIsRefusedAndKept) {
  test::TempDir dir("seqmend_ingest");
  test::write_file(dir / "in.csv", "user_id,item_id,timestamp\n1,1,1\n1,2,2\n1,3,3\n");
  fs::create_directories(dir / "out");
  test::write_file(dir / "out/keep.txt", "x");
  IngestOptions o = test::options_for("csv", dir / "in.csv");
  expect_has(test::error_of([&] { ingest_to_dir(o, dir / "out"); }), "is not empty");
  EXPECT_TRUE(fs::exists(dir / "out/keep.txt"));
}

TEST(IngestErrors, NothingLeftAfterCleaning) {
  test::TempDir dir("seqmend_ingest");
  IngestOptions o;
  o.clean.min_user_events = 10;
  expect_has(ingest_error(dir, "csv", "user_id,item_id,timestamp\n1,1,1\n1,2,2\n", o), "no events left");
}

}  // namespace
}  // namespace seqmend

namespace seqmend {
namespace {

// String ids are stored as JSON text in the manifest: bytes that are not UTF-8 are a malformed row
// with its file and line (strict) or dropped and counted, never a JSON library's exception.
TEST(IngestErrors, StringIdsThatAreNotUtf8AreMalformedRows) {
  test::TempDir dir("seqmend_ingest");
  IngestOptions o;
  o.parse.string_ids = true;
  o.parse.strict = true;
  std::string msg = ingest_error(dir, "csv", "user_id,item_id,timestamp\n1,a,1\n1,\xFF\xFE,2\n1,c,3\n", o);
  EXPECT_NE(msg.find("in.txt:3: item id '\\xFF\\xFE' is not valid UTF-8"), std::string::npos) << msg;
  msg = ingest_error(dir, "seqline", "u\xC0\xAF a b c\n", o);
  EXPECT_NE(msg.find("in.txt:1: item id 'u\\xC0\\xAF' is not valid UTF-8"), std::string::npos) << msg;
  o.parse.strict = false;  // the row is dropped; the rest is ingested and the ids are clean
  o.parse.max_malformed_fraction = 0.5;
  std::string text = "user_id,item_id,timestamp\n";
  for (int u = 0; u < 3; ++u)
    for (int i = 0; i < 4; ++i) text += std::to_string(u) + ",i" + std::to_string(i) + "," + std::to_string(i) + "\n";
  text += "2,\xFF,9\n";
  o.format = "csv";
  o.input = test::write_file(dir / "mixed.csv", text);
  o.fsync = false;
  const nlohmann::json m = ingest_to_dir(o, dir / "ok");
  EXPECT_EQ(m["num_items"], 4);
  const nlohmann::json& parse = m["extra"]["ingest"]["steps"][0];
  EXPECT_EQ(parse["step"], "parse");
  EXPECT_EQ(parse["detail"]["malformed"], 1) << parse.dump();
}

}  // namespace
}  // namespace seqmend
