// End to end: `mpirun -np 2` of rank_failure_helper. A failing rank must end the job non-zero with
// "rank R failed: ..." within seconds, never a hang. Runs only as a world of one (ctest's mpi_np1):
// it launches its own mpirun, which must not be nested inside another MPI job.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "distributed/failure.h"

#include "distributed/mpi_communicator.h"
#include "tests/support/mpi_env.h"

namespace seqmend {
namespace {

struct Launch {
  int exit_code = -1;
  std::string output;
  double seconds = 0.0;
};

Launch launch(const std::string& mode) {
  // timeout: a regression that hangs fails this test in 60 s instead of stalling CI.
  // This process called MPI_Init itself: the child mpirun must not take its variables as its own.
  const std::string cmd = test_support::env_without_mpi() + " timeout -k 5 60 mpirun -np 2 --oversubscribe " +
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

// Starts `mpirun -np 2 helper steps`, sends SIGUSR1 to mpirun (as Slurm or a user would signal the
// launcher) once rank 0 says it is stepping, and collects the output and exit code.
Launch launch_and_signal_mpirun() {
  Launch out;
  int fds[2];
  if (pipe(fds) != 0) return out;
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    test_support::drop_mpi_variables();
    execlp("mpirun", "mpirun", "-np", "2", "--oversubscribe", "--allow-run-as-root", SEQMEND_MPI_HELPER, "steps",
           static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  bool signalled = false;
  const auto deadline = t0 + std::chrono::seconds(60);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      const ssize_t n = read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;
      out.output.append(buf, size_t(n));
    }
    if (!signalled && out.output.find("ready") != std::string::npos) {
      kill(pid, SIGUSR1);
      signalled = true;
    }
  }
  close(fds[0]);
  if (std::chrono::steady_clock::now() >= deadline) kill(pid, SIGKILL);  // hung: fail, do not wait forever
  int status = 0;
  waitpid(pid, &status, 0);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (!signalled) out.output += "\n(never saw 'ready', no signal sent)";
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

namespace seqmend {
namespace {

TEST(JobFailure, SigusrToTheLauncherStopsEveryRankAtTheSameStep) {
  if (!run_alone()) GTEST_SKIP() << "launches its own mpirun; runs in the one-rank pass (ctest mpi_np1)";
  const Launch r = launch_and_signal_mpirun();
  EXPECT_EQ(r.exit_code, kExitStoppedForRequeue) << r.output;
  // Both ranks stop, at one step: the agreement happened, whichever rank saw the signal first.
  const size_t a = r.output.find("rank 0 stopping at step "), b = r.output.find("rank 1 stopping at step ");
  ASSERT_NE(a, std::string::npos) << r.output;
  ASSERT_NE(b, std::string::npos) << r.output;
  const int step0 = std::atoi(r.output.c_str() + a + 24), step1 = std::atoi(r.output.c_str() + b + 24);
  EXPECT_EQ(step0, step1) << r.output;
  EXPECT_LT(r.seconds, 20.0) << r.output;
}

}  // namespace
}  // namespace seqmend
