// One knob for CPU parallelism: our OpenMP loops and OpenBLAS use the same thread count, so a
// benchmark "at 2 threads" means 2 threads everywhere.
#pragma once

#include <cstdint>

namespace seqmend {

void set_num_threads(int n);
int num_threads();
// A stage's `threads` setting: n > 0 sets n; 0 takes SEQMEND_THREADS when set, else leaves the
// OpenMP/OpenBLAS default.
void apply_threads_setting(int64_t n);

}  // namespace seqmend
