// Every process's own MPI session directory (distributed/session_base.h).
#include "distributed/session_base.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "tests/support/mpi_env.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;
using test_support::ScopedEnv;

constexpr const char* kVar = "OMPI_MCA_orte_tmpdir_base";

std::optional<std::string> var() {
  const char* v = std::getenv(kVar);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

// The pid of a process that has ended.
pid_t dead_pid() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

TEST(SessionBase, EachProcessGetsItsOwnAndTheDeadOnesAreCleared) {
  const test::TempDir tmp("seqmend_session");
  ScopedEnv env;
  env.set("TMPDIR", tmp.str());
  env.unset(kVar);
  const std::string root = session_root();
  EXPECT_EQ(root, tmp / ("seqmend-mpi." + std::to_string(::getuid())));

  // What processes before this one left: one that died, one still running, something else.
  const std::string dead = root + "/" + std::to_string(dead_pid());
  const std::string alive = root + "/" + std::to_string(::getppid());
  fs::create_directories(dead + "/ompi.host.0/jf.0/1/0");
  fs::create_directories(alive + "/ompi.host.0");
  fs::create_directories(root + "/not-a-pid");

  const std::string base = claim_session_base();
  EXPECT_EQ(base, root + "/" + std::to_string(::getpid()));
  EXPECT_EQ(session_base(), base);
  EXPECT_EQ(claim_session_base(), base) << "a second claim is the first";
  EXPECT_TRUE(fs::is_directory(base));
  EXPECT_TRUE(fs::is_empty(base));
  EXPECT_EQ(var(), base);
  EXPECT_EQ(fs::status(base).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_FALSE(fs::exists(dead)) << "the base of a process that died stays";
  EXPECT_TRUE(fs::is_directory(alive + "/ompi.host.0")) << "the base of a running process was removed";
  EXPECT_TRUE(fs::is_directory(root + "/not-a-pid"));

  restore_session_variable();
  EXPECT_EQ(var(), std::nullopt);
  fs::create_directories(base + "/ompi.host.0/jf.0/1/0");  // what Open MPI puts there
  release_session_base();
  EXPECT_FALSE(fs::exists(base));
  EXPECT_EQ(session_base(), "");
  release_session_base();  // nothing to do
}

// Made fresh, the root is the user's alone, like Open MPI's own session directories.
TEST(SessionBase, AFreshRootIsOwnerOnly) {
  const test::TempDir tmp("seqmend_session");
  ScopedEnv env;
  env.set("TMPDIR", tmp.str());
  env.unset(kVar);
  ASSERT_FALSE(claim_session_base().empty());
  restore_session_variable();  // session_root() reads the variable
  EXPECT_EQ(fs::status(session_root()).permissions() & fs::perms::all, fs::perms::owner_all);
  release_session_base();
  EXPECT_TRUE(fs::is_empty(session_root()));
}

// A base the user chose is where the process's own goes, and is what its children see again.
TEST(SessionBase, InsideTheBaseTheUserSet) {
  const test::TempDir tmp("seqmend_session"), mine("seqmend_session_mine");
  ScopedEnv env;
  env.set("TMPDIR", tmp.str());
  env.set(kVar, mine.str());
  const std::string base = claim_session_base();
  EXPECT_EQ(base, mine / ("seqmend-mpi." + std::to_string(::getuid()) + "/" + std::to_string(::getpid())));
  EXPECT_EQ(var(), base);
  restore_session_variable();
  EXPECT_EQ(var(), mine.str());
  release_session_base();
  EXPECT_FALSE(fs::exists(base));
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

TEST(SessionBase, AnUnusableDirectoryLeavesOpenMpisDefault) {
  const test::TempDir tmp("seqmend_session");
  std::ofstream(tmp / "file") << "x";
  ScopedEnv env;
  env.set("TMPDIR", tmp / "file");  // a file, not a directory
  env.unset(kVar);
  EXPECT_EQ(claim_session_base(), "");
  EXPECT_EQ(session_base(), "");
  EXPECT_EQ(var(), std::nullopt);
  restore_session_variable();
  EXPECT_EQ(var(), std::nullopt);
}

}  // namespace
}  // namespace seqmend
