// Start-up fingerprint exchange over real ranks.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/error.h"
#include "distributed/fingerprint.h"
#include "distributed/mpi_communicator.h"

namespace seqmend {
namespace {

const std::vector<float> kParams = {0.5f, -1.25f, 3.0f, 0.0f};

TEST(FingerprintMpi, AgreeingRanksPassAndSeeEveryRank) {
  MpiCommunicator comm;
  const RankFingerprint mine = local_fingerprint(comm, fingerprint_hash("model: {C: 64}"), kParams);
  EXPECT_EQ(mine.param_count, 4);
  EXPECT_EQ(mine.version, seqmend_version());
  const std::vector<RankFingerprint> all = check_fingerprints(comm, mine);
  ASSERT_EQ(all.size(), size_t(comm.world()));
  for (int r = 0; r < comm.world(); ++r) {
    EXPECT_EQ(all[size_t(r)].rank, r);
    EXPECT_EQ(all[size_t(r)].world_size, comm.world());
    EXPECT_EQ(all[size_t(r)].param_checksum, mine.param_checksum);
  }
  EXPECT_EQ(all[size_t(comm.rank())].pid, mine.pid);
}

TEST(FingerprintMpi, ADifferentConfigOnRankOneIsReportedOnEveryRankWithTheTable) {
  MpiCommunicator comm;
  if (comm.world() < 2) GTEST_SKIP() << "needs two ranks (ctest runs it under mpirun -np 2)";
  const std::string config = comm.rank() == 1 ? "model: {C: 128}" : "model: {C: 64}";
  const RankFingerprint mine = local_fingerprint(comm, fingerprint_hash(config), kParams);
  std::string message;
  try {
    check_fingerprints(comm, mine);
  } catch (const Error& e) {
    message = e.what();
  }
  ASSERT_NE(message, "") << "rank " << comm.rank() << " accepted mismatching fingerprints";
  EXPECT_NE(message.find("ranks disagree"), std::string::npos) << message;
  // One table line per rank; only rank 1's is marked, and it says why.
  for (int r = 0; r < comm.world(); ++r) {
    const std::string marked = "* " + std::to_string(r) + " ";
    const bool is_marked = message.find(marked) != std::string::npos;
    EXPECT_EQ(is_marked, r == 1) << "rank " << r << " in\n" << message;
  }
  EXPECT_NE(message.find("<-- differs: config"), std::string::npos) << message;
}

}  // namespace
}  // namespace seqmend
