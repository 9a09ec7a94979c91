// Start-up agreement between ranks. Before the first step every rank states what it is about to
// train (config hash, parameter count and checksum, seqmend version) and how it was launched (world
// size as MPI sees it, SLURM_NTASKS / SLURM_PROCID). Ranks that disagree would silently average
// gradients of different models, or run as several one-rank jobs when srun lacks --mpi=pmix; here
// that becomes one error whose message is a table of every rank with the odd ones marked.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "distributed/communicator.h"

namespace seqmend {

struct RankFingerprint {
  int rank = 0;
  std::string host;
  int64_t pid = 0;
  uint64_t config_hash = 0;
  int64_t param_count = 0;
  uint64_t param_checksum = 0;
  int world_size = 1;     // as MPI sees it
  int slurm_ntasks = -1;  // -1: not launched by srun (batch script, mpirun, no Slurm)
  int slurm_procid = -1;
  std::string version;
};

// 64-bit FNV-1a: stable across runs, machines and compilers (std::hash is not).
uint64_t fingerprint_hash(std::string_view bytes);
// Order-sensitive checksum of the parameters' bit patterns: equal only if every value is identical.
uint64_t parameter_checksum(std::span<const float> params);

// This rank's fingerprint, with host, pid, world size, Slurm variables and version filled in.
RankFingerprint local_fingerprint(const Communicator& comm, uint64_t config_hash, std::span<const float> params);

// Pure comparison. Empty when all ranks agree; otherwise the table (see check_fingerprints).
// Agreement means: equal config hash, parameter count and checksum, version and world size on
// every rank, world size == number of fingerprints, and under Slurm SLURM_NTASKS == world size and
// SLURM_PROCID == rank. Host and pid are shown, never compared.
std::string fingerprint_mismatch_table(const std::vector<RankFingerprint>& all);

// Collective: exchanges fingerprints, returns them in rank order, throws seqmend::Error (the same
// message on every rank) when they disagree.
std::vector<RankFingerprint> check_fingerprints(Communicator& comm, const RankFingerprint& mine);

// The version string compiled into this build ("0.1.0").
const char* seqmend_version();

}  // namespace seqmend
