// A tiny MPI program that fails on purpose, launched by job_failure_test.cpp under mpirun to prove
// that a failing rank ends the whole job with a message instead of leaving the others hanging.
//   rank_failure_helper ok     every rank passes a barrier and exits 0
//   rank_failure_helper throw  the last rank throws while the others wait in a barrier forever
//   rank_failure_helper nan    the last rank's loss is NaN; check_all stops every rank
//   rank_failure_helper steps  ranks run 10 ms "steps" until a stop signal (sent to mpirun, which
//                              forwards it) is agreed on; then every rank exits 75 at the same step
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>

#include "core/base/error.h"
#include "distributed/failure.h"
#include "distributed/mpi_communicator.h"
#include "distributed/mpi_env.h"

int main(int argc, char** argv) {
  seqmend::MpiEnv env(&argc, &argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  return seqmend::run_rank([&]() -> int {
    seqmend::MpiCommunicator comm;
    const bool last = comm.rank() == comm.world() - 1;
    if (mode == "ok") {
      comm.barrier();
      std::printf("rank %d ok\n", comm.rank());
      return 0;
    }
    if (mode == "throw") {
      if (last) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the others are in the barrier by now
        SEQ_FAIL("injected failure in step 3");
      }
      comm.barrier();  // never completes: only the abort ends this rank
      std::printf("rank %d passed a barrier the failed rank never reached\n", comm.rank());
      return 0;
    }
    if (mode == "nan") {
      const float loss = last ? std::numeric_limits<float>::quiet_NaN() : 0.5f;
      seqmend::check_all(comm, std::isfinite(loss), "loss at step 3");
      return 0;
    }
    if (mode == "steps") {
      seqmend::install_stop_signal_handlers();
      for (int step = 0; step < 3000; ++step) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (step == 2 && comm.rank() == 0) {
          std::printf("ready\n");
          std::fflush(stdout);
        }
        if (seqmend::stop_requested_anywhere(comm)) {
          std::printf("rank %d stopping at step %d (own signal %d)\n", comm.rank(), step, seqmend::stop_signal());
          std::fflush(stdout);
          return seqmend::kExitStoppedForRequeue;
        }
      }
      std::printf("rank %d ran out of steps without a stop\n", comm.rank());
      return 0;
    }
    SEQ_FAIL("rank_failure_helper: unknown mode '", mode, "' (ok|throw|nan|steps)");
  });
}
