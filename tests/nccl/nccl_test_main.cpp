// main() of test_nccl: MPI started as a world of one (no mpirun: the GPU machine of the device
// check has none), then the tests. The multi-rank NCCL test lives in tests/mpi.
#include <gtest/gtest.h>

#include "distributed/mpi_env.h"

int main(int argc, char** argv) {
  seqmend::MpiEnv env(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
