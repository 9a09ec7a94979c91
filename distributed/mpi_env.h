// Process-wide MPI lifetime. seqmend always runs as an MPI program: alone it is a world of one, under
// mpirun or srun --mpi=pmix each process learns its rank, world size and node-local rank here.
#pragma once

#include <string>

namespace seqmend {

class MpiEnv {
 public:
  MpiEnv(int* argc, char*** argv);
  ~MpiEnv();
  MpiEnv(const MpiEnv&) = delete;
  MpiEnv& operator=(const MpiEnv&) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }
  int local_rank() const { return local_rank_; }
  int local_world() const { return local_world_; }
  const std::string& host() const { return host_; }

  // Ends every rank of the job with `code` after printing `message` on this rank's stderr: the
  // way out when one rank fails, so the others do not wait forever in a collective.
  [[noreturn]] static void abort_job(const std::string& message, int code = 1);

 private:
  int rank_ = 0, world_ = 1, local_rank_ = 0, local_world_ = 1;
  std::string host_;
  bool owns_ = false;
};

}  // namespace seqmend
