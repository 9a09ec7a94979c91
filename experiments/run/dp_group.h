// The data-parallel group as the trainer sees it: rank, world, the few collectives a step needs,
// the bucketed gradient all-reduce, failure agreement and the start-up fingerprint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace seqmend {

class Communicator;
class GradBucketer;

class DataParallelGroup {
 public:
  // All ranks of the MPI job (MPI must be initialised: MpiEnv).
  static std::unique_ptr<DataParallelGroup> world();
  // The same ranks with device buffers reduced over NCCL (host buffers still over MPI), each rank
  // bound to its node-local GPU (distributed/nccl_communicator.h). An error in a build without NCCL.
  static std::unique_ptr<DataParallelGroup> world_gpu();
  explicit DataParallelGroup(Communicator& comm);  // not owned
  ~DataParallelGroup();

  int rank() const;
  int size() const;
  Communicator& comm() { return *comm_; }

  // In-place sum over ranks (exact for integers).
  void sum(int64_t* data, size_t count);
  // Sum in rank order, in double: the same bits on every rank and independent of MPI's grouping.
  void sum_ordered(double* data, size_t count);
  double sum_ordered(double x) {
    sum_ordered(&x, 1);
    return x;
  }
  // Collective: true only where `yes` holds on every rank, so all ranks take the same branch (and
  // each has looked before any acts on what it saw).
  bool all_agree(bool yes);
  // Throws the same seqmend::Error on every rank when `ok` is false on any (distributed/failure.h).
  void check_all(bool ok, const std::string& what);
  // Collective at a step boundary: a stop signal (SIGUSR1/SIGTERM) reached some rank.
  bool stop_requested_anywhere();
  void install_stop_signal_handlers();
  static int exit_code_stopped();  // kExitStoppedForRequeue
  // Collective start-up agreement (distributed/fingerprint.h); throws naming the odd ranks.
  void check_fingerprint(uint64_t config_hash, const float* params, size_t count);
  static uint64_t hash(const std::string& bytes);  // fingerprint_hash

  // Gradient averaging over the flat buffer `grads` (GradBucketer): call bind once, then per step
  // mark_ready(...) as backward completes ranges, finish() at the end.
  void bind_gradients(float* grads, size_t count, double bucket_mb);
  void mark_ready(size_t offset, size_t count);
  void finish();
  double last_comm_seconds() const;  // all time inside communication calls, last step
  double last_wait_seconds() const;  // time blocked in finish(), last step

 private:
  std::unique_ptr<Communicator> owned_;
  Communicator* comm_;
  std::unique_ptr<GradBucketer> bucketer_;  // destroyed before the communicator it uses
};

}  // namespace seqmend
