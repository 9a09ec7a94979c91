// The two JSON record readers (io/json_file.h): a missing or damaged bookkeeping record reads as
// null; a result a later step needs gives an error naming the file.
#include "io/json_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace fs = std::filesystem;

namespace seqmend {
namespace {

class JsonFile : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  test::TempDir tmp_{"seqmend_json_file"};
  fs::path dir_ = tmp_.path();
};

TEST_F(JsonFile, AWholeRecordReadsTheSameEitherWay) {
  const std::string p = write("done.json", R"({"key": "ab12", "seconds": 1.5, "outputs": {}})");
  const nlohmann::json want = {{"key", "ab12"}, {"seconds", 1.5}, {"outputs", nlohmann::json::object()}};
  EXPECT_EQ(read_json_or_null(p), want);
  EXPECT_EQ(read_json_file(p, "run"), want);
}

TEST_F(JsonFile, AMissingRecordIsNullOrAnErrorNamingIt) {
  const std::string p = (dir_ / "results.json").string();
  EXPECT_TRUE(read_json_or_null(p).is_null());
  const std::string e = test::error_of([&] { read_json_file(p, "evaluate"); });
  EXPECT_NE(e.find("evaluate: " + p + " is missing"), std::string::npos) << e;
}

TEST_F(JsonFile, ATornOrEmptyRecordIsNullOrAnErrorNamingIt) {
  for (const std::string text : {R"({"key": "ab12", "seco)", "", "{}}"}) {
    const std::string p = write("torn.json", text);
    EXPECT_TRUE(read_json_or_null(p).is_null()) << "'" << text << "'";
    const std::string e = test::error_of([&] { read_json_file(p, "evaluate"); });
    EXPECT_NE(e.find("evaluate: " + p + ": not JSON: "), std::string::npos) << "'" << text << "': " << e;
  }
}

TEST_F(JsonFile, ADirectoryInThePlaceOfTheFileIsNotARecord) {
  const std::string p = (dir_ / "sub").string();
  fs::create_directories(p);
  EXPECT_TRUE(read_json_or_null(p).is_null());
  EXPECT_NE(test::error_of([&] { read_json_file(p, "sweep"); }), "no error");
}

}  // namespace
}  // namespace seqmend
