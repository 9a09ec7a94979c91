#include "kernels/threads.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

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
  if (n == 0 && !std::getenv("OMP_NUM_THREADS")) {
    // Ranks the launcher did not bind to cores of their own (more ranks than cores) each see every
    // core: their default threads would oversubscribe the node several times over.
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!local) local = std::getenv("SLURM_NTASKS_PER_NODE");
    const long ranks = local ? std::atol(local) : 1;
    const long cores = long(std::thread::hardware_concurrency());
    if (ranks > 1 && cores > 0 && long(omp_get_max_threads()) * ranks > cores)
      n = std::max(1L, cores / ranks);
  }
  if (n > 0) set_num_threads(int(n));
}

}  // namespace seqmend
