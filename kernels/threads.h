// One knob for CPU parallelism: our OpenMP loops and OpenBLAS use the same thread count, so a
// benchmark "at 2 threads" means 2 threads everywhere.
#pragma once

namespace seqmend {

void set_num_threads(int n);
int num_threads();

}  // namespace seqmend
