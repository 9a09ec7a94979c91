#include "kernels/threads.h"

#include <cstdlib>

#include <omp.h>

extern "C" void openblas_set_num_threads(int);

namespace seqmend {

void set_num_threads(int n) {
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

void apply_threads_setting(int64_t n) {
  if (n == 0)
    if (const char* s = std::getenv("SEQMEND_THREADS"); s && *s) n = std::atoll(s);
  if (n > 0) set_num_threads(int(n));
}

}  // namespace seqmend
