// Data-parallel gradient averaging that overlaps with backward. The gradients live in ONE flat f32
// buffer (the model's gradient allocation); it is cut into buckets of about `bucket_mb` megabytes.
// Backward produces gradients from the last parameter to the first, so bucket 0 is the END of the
// buffer and bucket k-1 its start. As backward finishes a parameter the trainer calls
// mark_ready(offset, count); a bucket whose every element is ready starts its all-reduce at once,
// while backward carries on with earlier layers. finish() waits for the rest and divides by the
// world size.
//
// Buckets always start in bucket order (0, 1, 2, ...), even if a later bucket becomes ready first:
// MPI matches collectives by the order they are issued, so every rank must issue them identically.
//
//   GradBucketer bucketer(comm, grads.data(), grads.size(), /*bucket_mb=*/25);
//   // each step, during backward, after parameter p's gradient is complete:
//   bucketer.mark_ready(offset_of(p), size_of(p));
//   bucketer.finish();                     // grads now hold the average over ranks
//   report(bucketer.last_wait_seconds());  // time finish() spent blocked on the network
//   report(bucketer.last_comm_seconds());  // all time inside communication calls this step
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <vector>

#include "distributed/communicator.h"

namespace seqmend {

struct GradBucket {
  size_t begin = 0, end = 0;  // element range [begin, end) of the flat gradient buffer
};

// Cuts [0, count) into buckets of at most `bucket_elems` elements, bucket 0 at the end of the buffer.
std::vector<GradBucket> plan_grad_buckets(size_t count, size_t bucket_elems);

class GradBucketer {
 public:
  GradBucketer(Communicator& comm, float* grads, size_t count, double bucket_mb);
  ~GradBucketer();
  GradBucketer(const GradBucketer&) = delete;
  GradBucketer& operator=(const GradBucketer&) = delete;

  // Elements [offset, offset+count) hold this rank's final gradient for the step. Ranges must not
  // overlap within a step; marking the same element twice is an error (a double-counted gradient).
  void mark_ready(size_t offset, size_t count);
  // For callers that do not overlap communication with backward: everything is ready.
  void mark_all_ready();
  // Waits for every bucket and averages over ranks. Every element must have been marked ready.
  // Resets the step so the next one can begin.
  void finish();

  size_t num_buckets() const { return buckets_.size(); }
  const std::vector<GradBucket>& buckets() const { return buckets_; }
  size_t buckets_started() const { return next_to_start_; }  // in the current step
  // Time blocked in finish() waiting for buckets, last step and all steps: the share of a step the
  // network was not hidden behind backward.
  double last_wait_seconds() const { return last_wait_s_; }
  double total_wait_seconds() const { return total_wait_s_; }
  // All time spent inside the communicator during the last step: starting buckets and polling them
  // in mark_ready() as well as the wait in finish(). MPI libraries without an asynchronous progress
  // thread (OpenMPI's default) do much of a non-blocking all-reduce inside those calls, so this,
  // not the wait alone, is the communication time exposed to the step on CPU ranks.
  double last_comm_seconds() const { return last_comm_s_; }
  double total_comm_seconds() const { return total_comm_s_; }
  size_t steps() const { return steps_; }

 private:
  void start_ready_buckets();
  void poll();  // lets MPI progress in-flight buckets (non-blocking collectives move only inside MPI calls)

  Communicator& comm_;
  float* grads_;
  size_t count_;
  std::vector<GradBucket> buckets_;
  std::vector<size_t> ready_;  // elements marked so far, per bucket
  std::vector<std::unique_ptr<CommHandle>> inflight_;  // per bucket, null until started
  std::map<size_t, size_t> marked_;  // begin → end of each range marked this step (overlap check)
  size_t next_to_start_ = 0;
  double last_wait_s_ = 0.0, total_wait_s_ = 0.0;
  double step_comm_s_ = 0.0, last_comm_s_ = 0.0, total_comm_s_ = 0.0;
  size_t steps_ = 0;
};

}  // namespace seqmend
