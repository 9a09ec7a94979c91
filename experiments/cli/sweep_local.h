// Runs a sweep's points on this machine: each point is a child process `seqmend sweep point OUT
// --index I` (under `mpirun -np R` for R ranks per point), N at a time, the machine's threads
// divided among them (SEQMEND_THREADS / OMP_NUM_THREADS / OPENBLAS_NUM_THREADS; a config's own
// `threads` setting wins). A child's output goes to OUT/<point>/sweep.log.
//
// Why processes: a failing point (an error, a crash, an out-of-memory kill) ends only itself, every
// point gets a clean OpenMP/OpenBLAS/MPI state, and a point runs exactly as it would as a Slurm
// array task. Children get their own process group and no MPI variables of this process (a nested
// mpirun would otherwise think it belongs to this job).
//
// Ctrl-C (SIGINT) or SIGTERM: no new point starts; the running ones get SIGUSR1 — they checkpoint
// at the next step boundary and exit 75 (status stopped, resumed by the next run); a second Ctrl-C
// kills them (status interrupted, resumed from their last checkpoint).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace seqmend {

struct LocalPoint {
  int64_t index = 0;
  std::string name;
  std::string dir;
};

struct LocalOutcome {
  std::string name;
  int exit_code = 0;  // 75: stopped by a signal with a checkpoint; 128 + n: killed by signal n
  double seconds = 0.0;
};

struct LocalRunOptions {
  std::string seqmend;  // this program
  std::string sweep_dir;
  int jobs = 1;   // points at once
  int ranks = 1;  // MPI ranks per point
  int threads_per_rank = 1;
  std::function<void(const LocalOutcome&)> on_finished;  // called as each point ends
};

// Runs `points` in order, `jobs` at a time; returns one outcome per point that was started (all,
// unless interrupted). `interrupted` is set when a signal stopped the sweep.
std::vector<LocalOutcome> run_points_locally(const std::vector<LocalPoint>& points, const LocalRunOptions& opts,
                                             bool& interrupted);

// The environment for a child: this one without the MPI job's variables, threads set.
std::vector<std::string> child_environment(int threads);

// The names of this process's variables that belong to its own MPI start-up (PMIX_*, OMPI_COMM_WORLD_*,
// ...): a program started from here, or a Slurm job submitted from here (sbatch passes the
// environment on), must not see them, or its ranks would join this process's job.
std::vector<std::string> mpi_job_variable_names();

}  // namespace seqmend
