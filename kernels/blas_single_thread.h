// Scope guard for calling cblas from inside our own OpenMP parallel regions. The pthread build of
// OpenBLAS would otherwise split each small per-thread GEMM across its own thread pool as well,
// oversubscribing the cores. The thread count is a process-wide setting, so the guard must be
// taken outside the parallel region (by the thread that opens it), never inside.
//
// Only the pthread build needs it: the OpenMP build already runs single-threaded inside a parallel
// region, and its openblas_set_num_threads would also lower our own OpenMP thread count.
#pragma once

#include <cblas.h>

namespace seqmend {

class BlasSingleThread {
 public:
  BlasSingleThread()
      : saved_(openblas_get_parallel() == OPENBLAS_THREAD ? openblas_get_num_threads() : 1) {
    if (saved_ != 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThread() {
    if (saved_ != 1) openblas_set_num_threads(saved_);
  }
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;

 private:
  int saved_;
};

}  // namespace seqmend
