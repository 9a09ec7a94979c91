// The all-ranks decisions of a stopped stage (experiments/run/resume_or_clear.h, DataParallelGroup::
// all_agree): a stage resumes only when every rank sees a checkpoint; where one rank does not, all
// start afresh and the old run directory goes. Under mpirun -np 2 the last rank is the odd one out;
// alone (a world of one) the same cases hold for that one rank.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "distributed/mpi_communicator.h"
#include "experiments/run/dp_group.h"
#include "experiments/run/resume_or_clear.h"

namespace fs = std::filesystem;

namespace seqmend {
namespace {

// A run directory private to this rank (so ranks can see different things), with a checkpoint
// file when `with_checkpoint` (list_checkpoints goes by the name).
std::string rank_run_dir(const std::string& name, int rank, bool with_checkpoint) {
  const fs::path d = fs::temp_directory_path() /
                     ("seqmend_resume_" + name + "_" + std::to_string(getppid()) + "_" + std::to_string(rank));
  fs::remove_all(d);
  fs::create_directories(d);
  std::ofstream(d / "metrics.jsonl") << "{\"step\": 1}\n";
  if (with_checkpoint) std::ofstream(d / "ckpt-000040.h5") << "x";
  return d.string();
}

TEST(ResumeOrClearMpi, AllAgreeIsTrueOnlyWhereEveryRankSaysSo) {
  MpiCommunicator comm;
  DataParallelGroup group(comm);
  EXPECT_TRUE(group.all_agree(true));
  EXPECT_FALSE(group.all_agree(false));
  EXPECT_EQ(group.all_agree(group.rank() != group.size() - 1), false);
  EXPECT_EQ(group.all_agree(group.rank() != 0 || group.size() == 1), group.size() == 1);
}

TEST(ResumeOrClearMpi, EveryRankWithACheckpointResumesAndKeepsTheDirectory) {
  MpiCommunicator comm;
  DataParallelGroup group(comm);
  const std::string dir = rank_run_dir("all", group.rank(), true);
  EXPECT_TRUE(resume_or_clear(dir, true, group, "pretrain"));
  EXPECT_TRUE(fs::exists(dir + "/ckpt-000040.h5"));
  EXPECT_TRUE(fs::exists(dir + "/metrics.jsonl"));
  fs::remove_all(dir);
}

TEST(ResumeOrClearMpi, NotAskedToResumeStartsAfreshWithNothingOfTheOldRun) {
  MpiCommunicator comm;
  DataParallelGroup group(comm);
  const std::string dir = rank_run_dir("unasked", group.rank(), true);
  EXPECT_FALSE(resume_or_clear(dir, false, group, "pretrain"));
  // Rank 0 clears: with one shared directory that is the run's; here each rank has its own.
  EXPECT_EQ(fs::exists(dir), group.rank() != 0);
  fs::remove_all(dir);
}

TEST(ResumeOrClearMpi, ARankWithoutACheckpointMakesEveryRankStartAfresh) {
  MpiCommunicator comm;
  DataParallelGroup group(comm);
  const bool odd_one = group.rank() == group.size() - 1;
  const std::string dir = rank_run_dir("odd", group.rank(), !odd_one);
  EXPECT_FALSE(resume_or_clear(dir, true, group, "finetune")) << "rank " << group.rank();
  EXPECT_EQ(fs::exists(dir), group.rank() != 0);
  fs::remove_all(dir);
}

TEST(ResumeOrClearMpi, AMissingDirectoryIsAFreshStart) {
  MpiCommunicator comm;
  DataParallelGroup group(comm);
  const std::string dir = rank_run_dir("missing", group.rank(), false);
  fs::remove_all(dir);
  EXPECT_FALSE(resume_or_clear(dir, true, group, "evaluate"));
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace seqmend
