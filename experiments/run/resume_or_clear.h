// Whether a training that was stopped, killed or failed picks up where it was, decided once for
// every rank. A stage asked to resume does so only when each rank sees a checkpoint in its run
// directory; otherwise the directory goes, so a fresh start has nothing of the old run beside it
// (stale metrics, a `latest` pointing at a checkpoint of another config).
#pragma once

#include <string>

namespace seqmend {

class DataParallelGroup;

// Collective. True when `wanted` and every rank sees a checkpoint in `run_dir`; else rank 0 removes
// `run_dir` (every rank has looked before it does) and false. Throws the same error on every rank
// ("<who>: clearing <run_dir>: …") when the removal fails.
bool resume_or_clear(const std::string& run_dir, bool wanted, DataParallelGroup& group, const std::string& who);

}  // namespace seqmend
