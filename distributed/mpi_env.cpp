#include "distributed/mpi_env.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "distributed/mpi_check.h"
#include "distributed/session_base.h"

namespace seqmend {

MpiEnv::MpiEnv(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Ranks that share cores (more ranks on this node than it has cores: a laptop, a 2-core CI
    // machine) must not spin while they wait in a collective, or the waiting rank takes the core
    // the working one needs. The launcher exports the node's rank count before MPI_Init reads its
    // parameters; a value the user set wins.
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!local) local = std::getenv("SLURM_NTASKS_PER_NODE");
    if (local && std::atol(local) > long(std::thread::hardware_concurrency()))
      setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    // Started without a launcher (no mpirun, no srun --mpi=pmix), the process is a world of one: it
    // need not start a runtime daemon to be one, which takes most of a short command's time
    // (0.20 s → 0.07 s for `seqmend info`). seqmend never spawns processes through MPI.
    if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMIX_RANK") && !std::getenv("PMI_RANK")) {
      setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
      claim_session_base();
    }
    int provided = 0;
    // Only the main thread calls MPI (compute threads never do).
    SEQ_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    // Read by MPI_Init and kept by Open MPI from then on: the processes this one starts (a sweep's
    // points, an sbatch job) see what the user set, and make bases of their own.
    restore_session_variable();
    owns_ = true;
    SEQ_CHECK(provided >= MPI_THREAD_FUNNELED, "MPI_Init_thread: the MPI library offers thread level ", provided,
              ", below MPI_THREAD_FUNNELED");
  }
  // World stays fatal on error for code that calls MPI directly; communicators use their own
  // duplicate with MPI_ERRORS_RETURN and check every call.
  SEQ_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL));
  SEQ_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  SEQ_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &world_));
  MPI_Comm local;
  SEQ_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
  SEQ_MPI_CHECK(MPI_Comm_rank(local, &local_rank_));
  SEQ_MPI_CHECK(MPI_Comm_size(local, &local_world_));
  SEQ_MPI_CHECK(MPI_Comm_free(&local));
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  SEQ_MPI_CHECK(MPI_Get_processor_name(name, &len));
  host_.assign(name, size_t(len));
}

MpiEnv::~MpiEnv() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_ && !finalized) MPI_Finalize();
  if (owns_) release_session_base();
}

void MpiEnv::abort_job(const std::string& message, int code) {
  int rank = 0, initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr, "seqmend: rank %d failed: %s\n", rank, message.c_str());
  std::fflush(stderr);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace seqmend
