// `seqmend sweep FILE` and `seqmend sweep point DIR`: the sweep from its file to finished points.
//
// Before anything runs, every point's config is resolved and checked (experiments/cli/sweep_point.h),
// its status read against its key, and its cost printed: parameters, FLOPs per step, an estimated
// step time and run time on this machine, memory per rank (experiments/cli/model_cost.h). Points whose
// memory estimate exceeds what the machine has available are refused unless `insist`. Then the
// points that need a run go to local processes N at a time (experiments/cli/sweep_local.h) or to a
// Slurm job array (experiments/cli/sweep_slurm.h); a local sweep ends with `collect`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqmend {

class MpiEnv;

struct SweepOptions {
  std::string out;       // "" → runs/<sweep file name without .yaml>
  int jobs = 1;          // points at once (local)
  int ranks = 1;         // MPI ranks per point (local; Slurm: --ntasks-per-node)
  int threads = 0;       // threads to divide among the running points' ranks; 0: the machine's
  bool dry_run = false;  // list what would run, write nothing
  bool insist = false;   // run points whose memory estimate exceeds the machine's
  bool slurm = false;
  int array_parallel = 0;  // Slurm: at most K array tasks at once
  std::vector<std::string> sbatch_args;
};

// Returns the exit code: 0 when every point is done (or submitted), 1 when some failed, 130 when
// interrupted. Throws seqmend::Error for a bad sweep file or config (nothing has run then).
int run_sweep(const std::string& file, const SweepOptions& options);

// One point of the sweep in `dir` (by name, or by index when name is empty) on every rank of this
// job: `seqmend sweep point`, what local processes and Slurm array tasks run.
int run_sweep_point(const std::string& dir, const std::string& name, int64_t index, MpiEnv& env);

}  // namespace seqmend
