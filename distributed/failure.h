// A failing rank takes the whole job down with a message, never a hang.
//
// Three ways a data-parallel job can hang or silently diverge, and the answer to each:
//  - a rank throws while the others sit in a collective waiting for it → run_rank() prints
//    "rank R failed: ..." and calls MPI_Abort, which kills every rank within seconds;
//  - one rank's loss or gradient goes NaN and only that rank stops → check_all() agrees on the flag
//    across ranks, so every rank throws the same error at the same step;
//  - Slurm signals the job before its time limit (SIGUSR1 via --signal, then SIGTERM) but the signal
//    reaches only some ranks → stop_requested_anywhere() at a step boundary tells every rank at once,
//    so they checkpoint and exit together.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "distributed/communicator.h"

namespace seqmend {

// Runs one rank's body. Returns its exit code. When the body throws, prints
// "seqmend: rank R failed: <what>" on stderr and, in a world of more than one rank, aborts the whole
// MPI job (exit code 1 on every rank); alone it returns 1.
int run_rank(const std::function<int()>& body);

// Collective: true only if `ok` is true on every rank.
bool agree(Communicator& comm, bool ok);

// Collective: throws the same seqmend::Error on every rank when `ok` is false on any rank, naming
// `what` and the ranks where it failed: check_all(comm, std::isfinite(loss), "loss at step 812").
void check_all(Communicator& comm, bool ok, std::string_view what);

// Exit code of a run that stopped on a signal after writing its checkpoint (EX_TEMPFAIL): the
// sbatch scripts in slurm/ requeue the job when they see it, and the requeued job resumes.
inline constexpr int kExitStoppedForRequeue = 75;

// SIGUSR1 and SIGTERM set a flag (and nothing else: the handler is async-signal-safe). Installing
// twice is harmless.
void install_stop_signal_handlers();
// Whether this process received a stop signal, and which (0: none).
bool stop_requested_locally();
int stop_signal();
// Forgets a received signal (tests; or a trainer that has acted on it and continues).
void clear_stop_request();
// Collective, at a step boundary: true on every rank if any rank received a stop signal.
bool stop_requested_anywhere(Communicator& comm);

}  // namespace seqmend
