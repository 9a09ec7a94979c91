// `seqmend sweep FILE --slurm`: the sweep as a Slurm job array, one task per point to run, from
// the template slurm/sweep-array.sbatch (found beside the source tree of this binary, or in the
// working directory). The filled-in script is OUT/sweep.sbatch; every setting is in it, so that
// `sbatch OUT/sweep.sbatch` repeats the submission.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqmend {

struct SweepSlurmOptions {
  std::string seqmend;    // absolute path of the program the tasks run
  std::string sweep_dir;  // absolute
  std::string workdir;    // absolute: the tasks' working directory
  std::string job_name;
  std::vector<int64_t> indices;          // the points to run
  int array_parallel = 0;                // at most this many tasks at once (0: Slurm's limit)
  std::vector<std::string> sbatch_args;  // sbatch options from the command line, as given
};

// "0-3,5,7-8" (then %K): the array indices, runs of consecutive ones as ranges.
std::string slurm_array_spec(const std::vector<int64_t>& indices, int array_parallel);

// Command-line sbatch options as #SBATCH lines: `--time=1:00:00` one line, `-p cpu` (an option and
// the words after it) one line. Throws on a word that follows no option.
std::vector<std::string> sbatch_lines(const std::vector<std::string>& args);

// The script: `template_text` with its @...@ fields filled in.
std::string sweep_sbatch_text(const std::string& template_text, const SweepSlurmOptions& o);

// slurm/sweep-array.sbatch's path; throws when it cannot be found.
std::string sweep_sbatch_template();

// Writes OUT/sweep.sbatch and submits it with `sbatch --parsable`; returns the job id. Throws with
// sbatch's message when the submission fails.
std::string submit_sweep(const SweepSlurmOptions& o);

}  // namespace seqmend
