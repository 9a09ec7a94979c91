// Fault injection for tests, in the spirit of LevelDB's FaultInjectionTestEnv: every write, fsync,
// rename and close that decides whether an output survives a failure passes through fault_point()
// (io/atomic_file, io/published_dir, the HDF5 shard writer, checkpoints). A test arms it through
// the environment of the process it starts:
//
//   SEQMEND_FAULT=7          the 7th fault point fails: the call reports EIO, as a broken disk would
//   SEQMEND_FAULT=7:crash    the process stops dead at the 7th point (_exit(kFaultCrashExit)), as a
//                            power cut would: no destructor, no cleanup
//
// and loops K over 1, 2, ... until a run passes every point without reaching K (it then succeeds).
// Unarmed, a fault point costs one relaxed atomic load.
#pragma once

#include <cstdint>
#include <string>

namespace seqmend {

enum class FaultOp { write, fsync, rename, close };

constexpr int kFaultCrashExit = 86;

// Counts the point; true when this call must fail (errno is then EIO). In crash mode the armed
// point does not return.
bool fault_point(FaultOp op, const std::string& path);

// "injected fault: <op> of PATH (fault point K)": the message a failing point's caller reports.
std::string fault_message(FaultOp op, const std::string& path);

}  // namespace seqmend
