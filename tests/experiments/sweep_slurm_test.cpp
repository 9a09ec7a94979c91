// The sweep's Slurm job array script (experiments/cli/sweep_slurm.h) from the real template
// slurm/sweep-array.sbatch: array indices as ranges, command-line sbatch options as #SBATCH lines
// after the template's defaults, paths quoted, a task per point running `seqmend sweep point`.
// Submitting it is tests/slurm/sweep_slurm_test.sh's.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/base/error.h"
#include "experiments/cli/sweep_slurm.h"

namespace seqmend {
namespace {

TEST(SweepSlurmTest, ArrayIndicesAsRanges) {
  EXPECT_EQ(slurm_array_spec({0, 1, 2, 3}, 0), "0-3");
  EXPECT_EQ(slurm_array_spec({0, 2, 3, 4, 7}, 2), "0,2-4,7%2");
  EXPECT_EQ(slurm_array_spec({5}, 0), "5");
}

TEST(SweepSlurmTest, CommandLineOptionsBecomeLines) {
  EXPECT_EQ(sbatch_lines({"--time=1:00:00", "-p", "cpu", "--mem", "4G"}),
            (std::vector<std::string>{"--time=1:00:00", "-p cpu", "--mem 4G"}));
  EXPECT_THROW(sbatch_lines({"cpu"}), Error);
  EXPECT_THROW(sbatch_lines({"--array=0-3"}), Error);  // the array is the sweep's
}

TEST(SweepSlurmTest, TheTemplateFilledIn) {
  std::ifstream in(SEQMEND_SOURCE_DIR "/slurm/sweep-array.sbatch");
  std::stringstream ss;
  ss << in.rdbuf();
  SweepSlurmOptions o;
  o.seqmend = "/opt/seqmend/bin/seqmend";
  o.sweep_dir = "/runs/it's here";
  o.workdir = "/work";
  o.job_name = "sweep-tiny";
  o.indices = {0, 1, 3};
  o.array_parallel = 2;
  o.sbatch_args = {"--time=0:10:00", "-n", "2"};
  const std::string s = sweep_sbatch_text(ss.str(), o);
  for (const char* field : {"@SBATCH@", "@SEQMEND@", "@SWEEP_DIR@", "@WORKDIR@"})
    EXPECT_EQ(s.find(field), std::string::npos) << field << " not filled in";
  const size_t defaults = s.find("#SBATCH --time=12:00:00"), array = s.find("#SBATCH --array=0-1,3%2\n"),
               mine = s.find("#SBATCH --time=0:10:00\n");
  ASSERT_NE(defaults, std::string::npos);
  ASSERT_NE(array, std::string::npos);
  ASSERT_NE(mine, std::string::npos);
  EXPECT_LT(defaults, mine);  // the command line's options come later, so they win
  EXPECT_NE(s.find("#SBATCH -n 2\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --job-name=sweep-tiny\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --output=/runs/it's here/logs/%A_%a.out\n"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --signal=USR1@120"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --requeue"), std::string::npos);
  EXPECT_NE(s.find("SWEEP_DIR='/runs/it'\\''s here'\n"), std::string::npos);
  EXPECT_NE(s.find("SEQMEND=${SEQMEND:-'/opt/seqmend/bin/seqmend'}"), std::string::npos);
  EXPECT_NE(s.find("cd '/work'\n"), std::string::npos);
  EXPECT_NE(s.find("srun --mpi=pmix"), std::string::npos);
  EXPECT_NE(s.find("sweep point \"$SWEEP_DIR\" --index \"$SLURM_ARRAY_TASK_ID\""), std::string::npos);
  EXPECT_NE(s.find("scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\""), std::string::npos);
  // Every #SBATCH line comes before the first command (sbatch stops reading them there).
  EXPECT_LT(s.rfind("#SBATCH"), s.find("set -euo pipefail"));
}

}  // namespace
}  // namespace seqmend
