// Communicator over NCCL for GPU ranks: one GPU per node-local rank, the NCCL unique id handed from
// rank 0 to the others over MPI, every collective on the communicator's own CUDA stream (ordered
// after the work already queued on the compute stream, so gradients are complete when it starts).
//
// Device buffers go through NCCL; host buffers (the small blobs of allgather, fingerprints, losses,
// barrier) go through a private MpiCommunicator, so the whole Communicator interface keeps working.
//
// A watchdog thread watches every collective in flight. One that has not finished within
// `timeout_s` (a rank that died or diverged) is aborted with ncclCommAbort, and the waiting call
// throws an Error naming the collective, its size, this rank and the time waited — instead of the
// job hanging until the scheduler's wall-clock limit.
// Present only in builds with CUDA (SEQMEND_WITH_NCCL).
#pragma once

#include <mpi.h>

#include <memory>

#include "distributed/communicator.h"

namespace seqmend {

struct NcclOptions {
  int local_rank = -1;        // GPU to use; -1 = SLURM_LOCALID, else the MPI node-local rank
  double timeout_s = 300.0;   // watchdog deadline per collective
};

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(MPI_Comm parent = MPI_COMM_WORLD, const NcclOptions& opt = {});
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override;
  int world() const override;
  const char* backend() const override { return "nccl"; }
  int device() const;  // the CUDA device this rank drives

  void allreduce(void* data, size_t count, DType t, ReduceOp op) override;
  std::unique_ptr<CommHandle> iallreduce(void* data, size_t count, DType t, ReduceOp op) override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;
  std::vector<std::byte> allgather(const void* blob, size_t bytes) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace seqmend
