// main() of test_mpi: the multi-rank tests, run by ctest under `mpirun -np 2` (and alone, as a
// world of one). MPI is initialised once for the whole program; every rank runs every test in the
// same order (the collectives inside them must match up). Rank 0 prints the usual gtest report;
// the other ranks print only their failures, prefixed with the rank, so a failure on any rank is
// visible. All ranks exit with the same code: non-zero if any rank had a failure.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <string>

#include "distributed/mpi_env.h"

namespace {

class RankFailurePrinter final : public testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  // The name is kept here: UnitTest::current_test_info() inside OnTestPartResult would take the
  // mutex gtest already holds while reporting, and deadlock.
  void OnTestStart(const testing::TestInfo& t) override {
    test_ = std::string(t.test_suite_name()) + "." + t.name();
  }
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "[rank %d] FAILED %s at %s:%d\n%s\n", rank_, test_.c_str(),
                 r.file_name() ? r.file_name() : "?", r.line_number(), r.message());
    std::fflush(stderr);
  }

 private:
  int rank_;
  std::string test_;
};

}  // namespace

int main(int argc, char** argv) {
  seqmend::MpiEnv env(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  if (env.rank() != 0) {
    testing::TestEventListeners& listeners = testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(env.rank()));
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int failed_ranks = 0;
  MPI_Allreduce(&failed, &failed_ranks, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (env.rank() == 0 && failed_ranks > 0)
    std::fprintf(stderr, "test_mpi: %d of %d rank(s) had failures (see [rank R] lines)\n", failed_ranks,
                 env.world());
  return failed_ranks > 0 ? 1 : 0;
}
