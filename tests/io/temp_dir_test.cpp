// The tests' scratch directory (tests/support/temp_dir.h): unique, removed whole, kept on request.
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/mpi_env.h"

namespace seqmend::test {
namespace {

namespace fs = std::filesystem;

TEST(TempDir, EachIsFreshAndGoesWithEverythingInIt) {
  fs::path first, second;
  {
    TempDir a("seqmend_tempdir"), b("seqmend_tempdir");
    first = a.path();
    second = b.path();
    EXPECT_NE(first, second);
    EXPECT_TRUE(fs::is_directory(first));
    EXPECT_TRUE(fs::is_empty(first));
    EXPECT_EQ(first.parent_path(), fs::temp_directory_path());
    EXPECT_EQ(first.filename().string().rfind("seqmend_tempdir_", 0), 0u) << first;
    EXPECT_EQ(a / "x.txt", (first / "x.txt").string());
    EXPECT_EQ(a.str(), first.string());
    fs::create_directories(first / "deep" / "er");
    std::ofstream(a / "deep/er/file") << "data";
  }
  EXPECT_FALSE(fs::exists(first));
  EXPECT_FALSE(fs::exists(second));
}

TEST(TempDir, KeptWhenAskedSoAFailureCanBeLookedAt) {
  fs::path kept;
  {
    test_support::ScopedEnv env;
    env.set("SEQMEND_KEEP_TEST_DIRS", "1");
    TempDir d("seqmend_tempdir_keep");
    kept = d.path();
    std::ofstream(d / "left") << "x";
  }
  EXPECT_TRUE(fs::exists(kept / "left"));
  fs::remove_all(kept);
}

TEST(TempDir, AMissingParentIsAnErrorThatNamesIt) {
  test_support::ScopedEnv env;
  env.set("TMPDIR", "/nonexistent_seqmend_parent");
  try {
    TempDir d("seqmend_tempdir");
    ADD_FAILURE() << "made " << d.str();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent_seqmend_parent"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seqmend::test
