// Collective communication between the ranks of a job, behind one interface so the trainer does not
// care whether bytes travel through MPI (CPU ranks, tests) or NCCL (GPU ranks). Every call is a
// collective: all ranks must make the same calls in the same order, or the job hangs.
//
// Results are deterministic for a fixed world size. Sums whose value must not depend on the world
// size at all (losses, metrics, counts reported to the user) go through allreduce_sum_ordered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "core/base/dtype.h"

namespace seqmend {

enum class ReduceOp { sum, average };  // average = sum / world; integer average truncates toward zero

// A non-blocking collective in flight. The buffer it was started on must stay alive and untouched
// until wait() returns. Destroying an unfinished handle waits for it (a dropped handle must not leave
// MPI writing into freed memory).
class CommHandle {
 public:
  virtual ~CommHandle() = default;
  virtual void wait() = 0;
  // True once the operation has completed (wait() then returns at once). Does not block.
  virtual bool done() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world() const = 0;
  virtual const char* backend() const = 0;  // "mpi", "nccl"

  // ---- the primitives a backend implements --------------------------------------------------
  // In place over `count` elements of type `t`: f32, f64 or i64 (another type is an error).
  virtual void allreduce(void* data, size_t count, DType t, ReduceOp op) = 0;
  virtual std::unique_ptr<CommHandle> iallreduce(void* data, size_t count, DType t, ReduceOp op) = 0;
  // Copies `bytes` bytes from `root` into `data` on every other rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Every rank contributes `bytes` bytes; returns world*bytes bytes, rank r's blob at r*bytes.
  virtual std::vector<std::byte> allgather(const void* blob, size_t bytes) = 0;

  // ---- typed conveniences ---------------------------------------------------------------------
  template <typename T>
  void allreduce_sum(T* data, size_t count) { allreduce(data, count, reduced_dtype<T>(), ReduceOp::sum); }
  template <typename T>
  void allreduce_average(T* data, size_t count) {
    allreduce(data, count, reduced_dtype<T>(), ReduceOp::average);
  }
  template <typename T>
  std::unique_ptr<CommHandle> iallreduce_sum(T* data, size_t count) {
    return iallreduce(data, count, reduced_dtype<T>(), ReduceOp::sum);
  }
  template <typename T>
  void broadcast_values(T* data, size_t count, int root) { broadcast(data, count * sizeof(T), root); }

  // Sum whose result is bit-identical on every rank and independent of how the MPI library groups
  // the additions: gathers every rank's contribution and adds them in rank order, in double.
  // A loss summed over 4 ranks this way equals the same 4 partial sums added in order on one rank.
  // Costs world*count values of traffic, so it is meant for small buffers (losses, metrics).
  void allreduce_sum_ordered(double* data, size_t count);
  void allreduce_sum_ordered(float* data, size_t count);  // accumulates in double, rounds once
  double sum_ordered(double value) {
    allreduce_sum_ordered(&value, 1);
    return value;
  }

 private:
  template <typename T>
  static constexpr DType reduced_dtype() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int64_t>,
                  "communicators reduce float, double and int64_t only");
    return dtype_of<T>();
  }
};

}  // namespace seqmend
