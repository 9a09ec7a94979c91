// seqmend started without a launcher, many at once and with Open MPI's shared session path
// blocked: each runs MPI in a session directory of its own (distributed/session_base.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;
using test_support::Ran;
using test_support::run_shell;

// TMPDIR alone says where session files go (the test program sets a base of its own:
// tests/support/mpi_session_per_program.cpp).
std::string env_of(const test::TempDir& tmp) { return "env -u OMPI_MCA_orte_tmpdir_base TMPDIR=" + tmp.str(); }

std::string info_in(const test::TempDir& tmp) {
  return env_of(tmp) + " timeout 60 " + std::string(SEQMEND_BINARY) + " info";
}

// Open MPI 4.1 puts every launcher-less process's session under <tmp>/ompi.<short host>.<uid>. A
// file there stands for another process's session being made or removed at that moment.
TEST(SingletonStart, OpenMpisSharedSessionPathInTheWayDoesNotStopIt) {
  const test::TempDir tmp("seqmend_singleton");
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  const std::string short_host = std::string(host).substr(0, std::string(host).find('.'));
  std::ofstream(tmp / ("ompi." + short_host + "." + std::to_string(::getuid()))) << "in the way";

  // The blocked path is real: mpirun, which uses it as it is, cannot start.
  Ran blocked =
      run_shell(env_of(tmp) + " timeout 60 mpirun -np 1 --allow-run-as-root " + std::string(SEQMEND_BINARY) + " info");
  EXPECT_NE(blocked.status, 0) << blocked.output;

  Ran r = run_shell(info_in(tmp));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("seqmend rank 0/1"), std::string::npos) << r.output;
  const fs::path root = tmp.path() / ("seqmend-mpi." + std::to_string(::getuid()));
  EXPECT_TRUE(fs::is_directory(root));
  EXPECT_TRUE(fs::is_empty(root)) << "a process's session base outlived it";
}

// Eight at once, a few times over: none fails in MPI_Init, and none leaves its base behind.
TEST(SingletonStart, ManyAtOnceAllStart) {
  const test::TempDir tmp("seqmend_singleton");
  std::string cmd = "fails=0; for round in 1 2 3; do pids=''; for i in 1 2 3 4 5 6 7 8; do " + info_in(tmp) +
                    " >" + tmp.str() + "/out.$round.$i 2>&1 & pids=\"$pids $!\"; done; "
                    "for p in $pids; do wait $p || fails=$((fails+1)); done; done; echo fails=$fails";
  Ran r = run_shell(cmd);
  EXPECT_NE(r.output.find("fails=0"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_empty(tmp.path() / ("seqmend-mpi." + std::to_string(::getuid()))));
}

}  // namespace
}  // namespace seqmend
