// End to end: `mpirun -np 2` of rank_failure_helper. A failing rank must end the job non-zero with
// "rank R failed: ..." within seconds, never a hang. Runs only as a world of one (ctest's mpi_np1):
// it launches its own mpirun, which must not be nested inside another MPI job.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "distributed/mpi_communicator.h"

extern char** environ;

namespace seqmend {
namespace {

struct Launch {
  int exit_code = -1;
  std::string output;
  double seconds = 0.0;
};

// The launcher runs in a process that called MPI_Init itself; its OMPI_/PMIX_ variables would make
// the child mpirun believe it belongs to this job, so they are removed.
std::string scrubbed_env_prefix() {
  std::string cmd = "env";
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    for (const char* p : {"OMPI_", "PMIX_", "OPAL_", "ORTE_", "PMI_"})
      if (name.rfind(p, 0) == 0) cmd += " -u " + name;
  }
  return cmd;
}

Launch launch(const std::string& mode) {
  // timeout: a regression that hangs fails this test in 60 s instead of stalling CI.
  const std::string cmd = scrubbed_env_prefix() + " timeout -k 5 60 mpirun -np 2 --oversubscribe " +
                          "--allow-run-as-root " + SEQMEND_MPI_HELPER + " " + mode + " 2>&1";
  Launch out;
  const auto t0 = std::chrono::steady_clock::now();
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.output.append(buf, n);
  const int status = pclose(pipe);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

bool run_alone() {
  MpiCommunicator comm;
  return comm.world() == 1;
}

TEST(JobFailure, AHealthyJobExitsZero) {
  if (!run_alone()) GTEST_SKIP() << "launches its own mpirun; runs in the one-rank pass (ctest mpi_np1)";
  const Launch r = launch("ok");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("rank 0 ok"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 ok"), std::string::npos) << r.output;
}

TEST(JobFailure, ARankThatThrowsEndsTheJobWithinSeconds) {
  if (!run_alone()) GTEST_SKIP() << "launches its own mpirun; runs in the one-rank pass (ctest mpi_np1)";
  const Launch r = launch("throw");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("rank 1 failed: injected failure in step 3"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("passed a barrier"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 20.0) << r.output;
  std::printf("throwing rank: job ended with exit code %d after %.2f s\n", r.exit_code, r.seconds);
}

TEST(JobFailure, ANanOnOneRankEndsTheJobWithTheRankNamed) {
  if (!run_alone()) GTEST_SKIP() << "launches its own mpirun; runs in the one-rank pass (ctest mpi_np1)";
  const Launch r = launch("nan");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "the job hung until the timeout:\n" << r.output;
  EXPECT_NE(r.output.find("loss at step 3 failed on rank(s) 1 of 2"), std::string::npos) << r.output;
  EXPECT_LT(r.seconds, 20.0) << r.output;
}

}  // namespace
}  // namespace seqmend
