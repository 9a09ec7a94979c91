// Cross-rank agreement on failure and stop: one rank's NaN or signal stops every rank.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <limits>
#include <string>

#include "core/base/error.h"
#include "distributed/failure.h"
#include "distributed/mpi_communicator.h"

namespace seqmend {
namespace {

TEST(FailureMpi, AgreeIsTrueOnlyWhenEveryRankIsOk) {
  MpiCommunicator comm;
  EXPECT_TRUE(agree(comm, true));
  EXPECT_FALSE(agree(comm, comm.rank() != comm.world() - 1));
  EXPECT_FALSE(agree(comm, false));
}

TEST(FailureMpi, ANanOnTheLastRankStopsEveryRank) {
  MpiCommunicator comm;
  const int bad = comm.world() - 1;
  const float loss = comm.rank() == bad ? std::numeric_limits<float>::quiet_NaN() : 0.7f;
  std::string message;
  try {
    check_all(comm, std::isfinite(loss), "loss at step 12");
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message, "") << "rank " << comm.rank() << " carried on";
  EXPECT_NE(message.find("loss at step 12 failed on rank(s) " + std::to_string(bad) + " of"), std::string::npos)
      << message;
  EXPECT_NO_THROW(check_all(comm, true, "loss at step 13"));
}

TEST(FailureMpi, ASignalOnOneRankIsSeenByAllAtTheStepBoundary) {
  MpiCommunicator comm;
  install_stop_signal_handlers();
  clear_stop_request();
  EXPECT_FALSE(stop_requested_anywhere(comm));
  // Slurm's --signal may reach only some ranks (e.g. only the batch step's first task).
  if (comm.rank() == comm.world() - 1) {
    EXPECT_EQ(std::raise(SIGUSR1), 0);  // EXPECT: an early return would skip a collective
  }
  EXPECT_EQ(stop_requested_locally(), comm.rank() == comm.world() - 1);
  EXPECT_TRUE(stop_requested_anywhere(comm));
  clear_stop_request();
  EXPECT_FALSE(stop_requested_anywhere(comm));
}

}  // namespace
}  // namespace seqmend
