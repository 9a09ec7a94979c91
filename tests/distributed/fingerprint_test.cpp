// The start-up comparison of rank fingerprints, on hand-made tables (no MPI).
#include "distributed/fingerprint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "tests/support/mpi_env.h"

namespace seqmend {
namespace {

std::vector<RankFingerprint> healthy(int n) {
  std::vector<RankFingerprint> all(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    RankFingerprint& f = all[size_t(r)];
    f.rank = r;
    f.host = "node" + std::to_string(r / 2);
    f.pid = 1000 + r;
    f.config_hash = 0xabc;
    f.param_count = 12345;
    f.param_checksum = 0x77;
    f.world_size = n;
    f.version = "0.1.0";
  }
  return all;
}

// The table line of rank r (lines after the header start with "* " or two spaces, then the rank).
std::string line_of(const std::string& table, int r) {
  std::istringstream in(table);
  std::string line;
  std::getline(in, line);  // title
  std::getline(in, line);  // column names
  for (int i = 0; i <= r; ++i) std::getline(in, line);
  return line;
}

TEST(Fingerprint, AgreeingRanksGiveNoTable) {
  EXPECT_EQ(fingerprint_mismatch_table(healthy(1)), "");
  EXPECT_EQ(fingerprint_mismatch_table(healthy(4)), "");
  auto slurm = healthy(2);
  for (auto& f : slurm) f.slurm_ntasks = 2, f.slurm_procid = f.rank;
  EXPECT_EQ(fingerprint_mismatch_table(slurm), "");
}

TEST(Fingerprint, TwoRanksMarkRankOneAsTheOddOne) {
  auto all = healthy(2);
  all[1].config_hash = 0xdef;
  const std::string t = fingerprint_mismatch_table(all);
  ASSERT_NE(t, "");
  EXPECT_EQ(line_of(t, 0).substr(0, 2), "  ") << t;
  EXPECT_EQ(line_of(t, 1).substr(0, 2), "* ") << t;
  EXPECT_NE(line_of(t, 1).find("differs: config"), std::string::npos) << t;
  EXPECT_NE(line_of(t, 1).find("0000000000000def"), std::string::npos) << t;
}

TEST(Fingerprint, TheMajorityDecidesWhoIsOdd) {
  auto all = healthy(3);
  all[0].param_checksum = 0x1;  // rank 0 loaded different weights
  all[0].version = "0.0.9";
  const std::string t = fingerprint_mismatch_table(all);
  EXPECT_NE(line_of(t, 0).find("differs: param checksum, version"), std::string::npos) << t;
  EXPECT_EQ(line_of(t, 1).substr(0, 2), "  ") << t;
  EXPECT_EQ(line_of(t, 2).substr(0, 2), "  ") << t;
}

TEST(Fingerprint, SrunWithoutPmixShowsAsSlurmTasksNotInOneWorld) {
  // srun without --mpi=pmix starts SLURM_NTASKS separate one-rank MPI worlds.
  auto all = healthy(1);
  all[0].slurm_ntasks = 2;
  all[0].slurm_procid = 1;
  all[0].rank = 0;
  const std::string t = fingerprint_mismatch_table(all);
  EXPECT_NE(t.find("SLURM_NTASKS != world"), std::string::npos) << t;
  EXPECT_NE(t.find("SLURM_PROCID != rank"), std::string::npos) << t;
  EXPECT_NE(t.find("--mpi=pmix"), std::string::npos) << t;
}

TEST(Fingerprint, WorldSizeMustMatchTheNumberOfRanks) {
  auto all = healthy(2);
  all[0].world_size = all[1].world_size = 3;
  const std::string t = fingerprint_mismatch_table(all);
  EXPECT_NE(line_of(t, 0).find("world size"), std::string::npos) << t;
  EXPECT_NE(line_of(t, 1).find("world size"), std::string::npos) << t;
}

TEST(Fingerprint, HashesAreStableAndSensitive) {
  // FNV-1a 64 reference values.
  EXPECT_EQ(fingerprint_hash(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fingerprint_hash("a"), 0xaf63dc4c8601ec8cull);
  std::vector<float> p = {1.0f, 2.0f, 3.0f};
  const uint64_t h = parameter_checksum(p);
  std::swap(p[0], p[1]);
  EXPECT_NE(parameter_checksum(p), h);
  std::swap(p[0], p[1]);
  EXPECT_EQ(parameter_checksum(p), h);
  p[2] = std::nextafter(3.0f, 4.0f);  // one ulp
  EXPECT_NE(parameter_checksum(p), h);
  p.push_back(0.0f);
  EXPECT_NE(parameter_checksum(std::span<const float>(p.data(), 3)), parameter_checksum(p));
}

// Only rank()/world() are used by local_fingerprint.
class OneRank final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  const char* backend() const override { return "none"; }
  void allreduce(void*, size_t, DType, ReduceOp) override {}
  std::unique_ptr<CommHandle> iallreduce(void*, size_t, DType, ReduceOp) override { return nullptr; }
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  std::vector<std::byte> allgather(const void* blob, size_t bytes) override {
    auto p = static_cast<const std::byte*>(blob);
    return std::vector<std::byte>(p, p + bytes);
  }
};

TEST(Fingerprint, SlurmVariablesCountOnlyUnderSrunDirectLaunch) {
  OneRank comm;
  const std::vector<float> params = {1.0f};
  test_support::ScopedEnv env;
  for (const char* v : {"SLURM_STEP_ID", "SLURM_NTASKS", "SLURM_PROCID", "OMPI_COMM_WORLD_SIZE", "OMPI_MCA_orte_hnp_uri"})
    env.unset(v);
  // A batch script: the allocation's SLURM_NTASKS and SLURM_PROCID=0, but no job step.
  env.set("SLURM_NTASKS", "4");
  env.set("SLURM_PROCID", "0");
  RankFingerprint f = local_fingerprint(comm, 1, params);
  EXPECT_EQ(f.slurm_ntasks, -1);
  EXPECT_EQ(f.slurm_procid, -1);
  // srun: a step, one task per rank.
  env.set("SLURM_STEP_ID", "0");
  env.set("SLURM_PROCID", "2");
  f = local_fingerprint(comm, 1, params);
  EXPECT_EQ(f.slurm_ntasks, 4);
  EXPECT_EQ(f.slurm_procid, 2);
  EXPECT_NE(fingerprint_mismatch_table({f}), "");  // a world of 1 among 4 tasks: srun without pmix
  // mpirun inside an allocation: the variables belong to mpirun's daemons.
  env.set("OMPI_COMM_WORLD_SIZE", "1");
  f = local_fingerprint(comm, 1, params);
  EXPECT_EQ(f.slurm_ntasks, -1);
  EXPECT_EQ(fingerprint_mismatch_table({f}), "");
}

}  // namespace
}  // namespace seqmend
