// When a CPU loop is worth an OpenMP team. Below this many elements touched, the fork/join (a few
// microseconds, far more when the other core is busy) costs more than the loop itself, so the
// loop runs on the calling thread: `#pragma omp parallel for if (work >= kParallelMinWork)`.
#pragma once

#include <cstdint>

namespace seqmend {

inline constexpr int64_t kParallelMinWork = int64_t(1) << 15;

}  // namespace seqmend
