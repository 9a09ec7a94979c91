// Communicator over MPI: the CPU backend, and the one tests run with several ranks on one machine.
// It works on a private duplicate of the parent communicator (its traffic cannot match anyone
// else's messages) with MPI_ERRORS_RETURN, so every failed call is a seqmend::Error naming it.
#pragma once

#include <mpi.h>

#include "distributed/communicator.h"

namespace seqmend {

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm parent = MPI_COMM_WORLD);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int world() const override { return world_; }
  const char* backend() const override { return "mpi"; }
  MPI_Comm comm() const { return comm_; }

  void allreduce(void* data, size_t count, DType t, ReduceOp op) override;
  std::unique_ptr<CommHandle> iallreduce(void* data, size_t count, DType t, ReduceOp op) override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;
  std::vector<std::byte> allgather(const void* blob, size_t bytes) override;

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, world_ = 1;
};

// Divides `count` elements of type `t` by `world` in place: the second half of ReduceOp::average.
void divide_by_world(void* data, size_t count, DType t, int world);

}  // namespace seqmend
