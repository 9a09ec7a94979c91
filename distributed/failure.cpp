#include "distributed/failure.h"

#include <mpi.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include "core/base/error.h"
#include "distributed/mpi_env.h"

namespace seqmend {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

int world_size_if_running() {
  int initialized = 0, finalized = 0, world = 1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_size(MPI_COMM_WORLD, &world);
  return world;
}

}  // namespace

int run_rank(const std::function<int()>& body) {
  std::string what;
  try {
    return body();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception (not derived from std::exception)";
  }
  // Other ranks may be blocked in a collective this rank will never join: only an abort frees them.
  if (world_size_if_running() > 1) MpiEnv::abort_job(what, 1);
  std::fprintf(stderr, "seqmend: rank 0 failed: %s\n", what.c_str());
  std::fflush(stderr);
  return 1;
}

bool agree(Communicator& comm, bool ok) {
  int64_t failures = ok ? 0 : 1;
  comm.allreduce_sum(&failures, 1);
  return failures == 0;
}

void check_all(Communicator& comm, bool ok, std::string_view what) {
  const char flag = ok ? 1 : 0;
  const std::vector<std::byte> all = comm.allgather(&flag, 1);  // (world,)
  std::string bad;
  for (size_t r = 0; r < all.size(); ++r)
    if (all[r] == std::byte{0}) bad += (bad.empty() ? "" : ", ") + std::to_string(r);
  if (!bad.empty())
    SEQ_FAIL("check_all: ", what, " failed on rank(s) ", bad, " of ", comm.world(),
             "; every rank stops here");
}

void install_stop_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a signal during a blocking read or MPI wait must not make it fail
  SEQ_CHECK(sigaction(SIGUSR1, &sa, nullptr) == 0, "install_stop_signal_handlers: sigaction(SIGUSR1) failed");
  SEQ_CHECK(sigaction(SIGTERM, &sa, nullptr) == 0, "install_stop_signal_handlers: sigaction(SIGTERM) failed");
}

bool stop_requested_locally() { return g_stop_signal != 0; }
int stop_signal() { return int(g_stop_signal); }
void clear_stop_request() { g_stop_signal = 0; }

bool stop_requested_anywhere(Communicator& comm) { return !agree(comm, !stop_requested_locally()); }

}  // namespace seqmend
