// A directory of its own for every seqmend process's MPI session files.
//
// Open MPI 4.1 gives every isolated singleton (mpi_env.cpp starts one when there is no mpirun or
// srun) the same name, [[0,1],0], and so the same session directory,
// <base>/ompi.<host>.<uid>/jf.0/1/0, which each creates in MPI_Init and removes in MPI_Finalize
// (as every mpirun does with <base>/ompi.<host>.<uid> itself). Two such processes at once (a
// detect beside a training, a sweep's points, the test suite) race on it: one removes the
// directory while the other is making the one below, and that one dies in MPI_Init
// ("orte_session_dir failed"). With a base of its own, <base>/seqmend-mpi.<uid>/<pid>, no two
// processes share a path. <base> is what Open MPI would use: OMPI_MCA_orte_tmpdir_base when the
// user set it, else TMPDIR, else /tmp. A process's base is removed when it ends; one left by a
// process that died is removed by the next process that starts.
//
//   claim_session_base();    // before MPI_Init: points OMPI_MCA_orte_tmpdir_base at it
//   MPI_Init(...);
//   restore_session_variable();  // children see what the user set, not this process's base
//   ...
//   MPI_Finalize();
//   release_session_base();
#pragma once

#include <string>

namespace seqmend {

// <base>/seqmend-mpi.<uid>: the directory holding every process's own base.
std::string session_root();

// Makes this process's base, <session_root()>/<pid>, points OMPI_MCA_orte_tmpdir_base at it and
// removes the bases of processes that no longer run. Returns the base, or "" when it could not be
// made (then Open MPI's default stands).
std::string claim_session_base();

// Puts OMPI_MCA_orte_tmpdir_base back as it was before claim_session_base (MPI_Init has read it).
void restore_session_variable();

// This process's base ("" before a claim, after a release or when the claim failed): a place for
// the session directories of the jobs this process launches (sweep points under mpirun).
const std::string& session_base();

// Removes the base and everything in it. Never throws.
void release_session_base();

}  // namespace seqmend
