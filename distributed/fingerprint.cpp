#include "distributed/fingerprint.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iomanip>
#include <map>
#include <sstream>

#include "core/base/error.h"

#ifndef SEQMEND_VERSION
#define SEQMEND_VERSION "unknown"
#endif

namespace seqmend {
namespace {

// Fixed-size wire form: allgather needs the same byte count from every rank.
struct WireFingerprint {
  char host[64];
  char version[32];
  int64_t pid, param_count;
  uint64_t config_hash, param_checksum;
  int32_t rank, world_size, slurm_ntasks, slurm_procid;
};

void copy_text(char* dst, size_t cap, const std::string& src) {
  std::memset(dst, 0, cap);
  std::memcpy(dst, src.data(), std::min(cap - 1, src.size()));
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  return (end && *end == '\0' && x >= 0) ? int(x) : -2;  // -2: present but unreadable, never matches
}

std::string hex(uint64_t x) {
  std::ostringstream os;
  os << std::hex << std::setw(16) << std::setfill('0') << x;
  return os.str();
}

std::string show(int v) { return v == -1 ? "-" : std::to_string(v); }

// The value most ranks hold; ties go to the value of the lowest rank holding it, so with two ranks
// rank 0 is the reference and rank 1 is the one marked.
template <typename T>
T reference_value(const std::vector<RankFingerprint>& all, std::function<T(const RankFingerprint&)> get) {
  std::map<T, std::pair<int, int>> seen;  // value → (count, first rank)
  for (const auto& f : all) {
    auto [it, fresh] = seen.emplace(get(f), std::make_pair(0, f.rank));
    ++it->second.first;
  }
  auto best = seen.begin();
  for (auto it = seen.begin(); it != seen.end(); ++it) {
    const auto [n, first] = it->second;
    if (n > best->second.first || (n == best->second.first && first < best->second.second)) best = it;
  }
  return best->first;
}

}  // namespace

const char* seqmend_version() { return SEQMEND_VERSION; }

uint64_t fingerprint_hash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t parameter_checksum(std::span<const float> params) {
  // Word-at-a-time mix (byte-wise FNV would take a second on 100M parameters); the position enters
  // through the running state, so swapped values change the result.
  uint64_t h = 0x9e3779b97f4a7c15ull ^ uint64_t(params.size());
  for (float v : params) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    h = (h ^ bits) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return h;
}

RankFingerprint local_fingerprint(const Communicator& comm, uint64_t config_hash, std::span<const float> params) {
  RankFingerprint f;
  f.rank = comm.rank();
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "?");
  f.host = host;
  f.pid = int64_t(getpid());
  f.config_hash = config_hash;
  f.param_count = int64_t(params.size());
  f.param_checksum = parameter_checksum(params);
  f.world_size = comm.world();
  // Slurm's task variables describe the ranks only under srun direct launch. In a batch script
  // (no SLURM_STEP_ID) or under mpirun inside an allocation they describe the batch step or
  // mpirun's daemons: every rank sees SLURM_PROCID=0 there, which is not a mismatch.
  const bool by_mpirun = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("OMPI_MCA_orte_hnp_uri");
  if (!by_mpirun && std::getenv("SLURM_STEP_ID")) {
    f.slurm_ntasks = env_int("SLURM_NTASKS");
    f.slurm_procid = env_int("SLURM_PROCID");
  }
  f.version = seqmend_version();
  return f;
}

std::string fingerprint_mismatch_table(const std::vector<RankFingerprint>& all) {
  if (all.empty()) return {};
  const uint64_t ref_config = reference_value<uint64_t>(all, [](auto& f) { return f.config_hash; });
  const int64_t ref_count = reference_value<int64_t>(all, [](auto& f) { return f.param_count; });
  const uint64_t ref_sum = reference_value<uint64_t>(all, [](auto& f) { return f.param_checksum; });
  const std::string ref_version = reference_value<std::string>(all, [](auto& f) { return f.version; });

  std::vector<std::string> why(all.size());
  bool any = false;
  for (size_t i = 0; i < all.size(); ++i) {
    const RankFingerprint& f = all[i];
    std::vector<std::string> bad;
    if (f.rank != int(i)) bad.push_back("rank " + std::to_string(f.rank) + " in slot " + std::to_string(i));
    if (f.config_hash != ref_config) bad.push_back("config");
    if (f.param_count != ref_count) bad.push_back("param count");
    if (f.param_checksum != ref_sum) bad.push_back("param checksum");
    if (f.version != ref_version) bad.push_back("version");
    if (f.world_size != int(all.size())) bad.push_back("world size");
    if (f.slurm_ntasks != -1 && f.slurm_ntasks != f.world_size) bad.push_back("SLURM_NTASKS != world");
    if (f.slurm_procid != -1 && f.slurm_procid != f.rank) bad.push_back("SLURM_PROCID != rank");
    for (size_t k = 0; k < bad.size(); ++k) why[i] += (k ? ", " : "") + bad[k];
    any = any || !bad.empty();
  }
  if (!any) return {};

  std::ostringstream os;
  os << "ranks disagree at start-up (" << all.size() << " ranks):\n";
  os << std::left << "  " << std::setw(6) << "rank" << std::setw(20) << "host" << std::setw(9) << "pid"
     << std::setw(18) << "config" << std::setw(12) << "params" << std::setw(18) << "checksum" << std::setw(7)
     << "world" << std::setw(8) << "ntasks" << std::setw(8) << "procid" << "version\n";
  for (size_t i = 0; i < all.size(); ++i) {
    const RankFingerprint& f = all[i];
    os << (why[i].empty() ? "  " : "* ") << std::setw(6) << f.rank << std::setw(20) << f.host.substr(0, 19)
       << std::setw(9) << f.pid << std::setw(18) << hex(f.config_hash) << std::setw(12) << f.param_count
       << std::setw(18) << hex(f.param_checksum) << std::setw(7) << f.world_size << std::setw(8)
       << show(f.slurm_ntasks) << std::setw(8) << show(f.slurm_procid) << f.version;
    if (!why[i].empty()) os << "  <-- differs: " << why[i];
    os << "\n";
  }
  os << "HINT: every rank must run the same build with the same config and initial parameters; under "
        "Slurm launch with `srun --mpi=pmix` so the ranks form one MPI world.";
  return os.str();
}

std::vector<RankFingerprint> check_fingerprints(Communicator& comm, const RankFingerprint& mine) {
  WireFingerprint w{};
  copy_text(w.host, sizeof(w.host), mine.host);
  copy_text(w.version, sizeof(w.version), mine.version);
  w.pid = mine.pid;
  w.param_count = mine.param_count;
  w.config_hash = mine.config_hash;
  w.param_checksum = mine.param_checksum;
  w.rank = mine.rank;
  w.world_size = mine.world_size;
  w.slurm_ntasks = mine.slurm_ntasks;
  w.slurm_procid = mine.slurm_procid;
  const std::vector<std::byte> raw = comm.allgather(&w, sizeof(w));  // (world, sizeof(w))

  std::vector<RankFingerprint> all(size_t(comm.world()));
  for (size_t r = 0; r < all.size(); ++r) {
    WireFingerprint x;
    std::memcpy(&x, raw.data() + r * sizeof(x), sizeof(x));
    RankFingerprint& f = all[r];
    f.rank = x.rank;
    f.host = std::string(x.host, strnlen(x.host, sizeof(x.host)));
    f.version = std::string(x.version, strnlen(x.version, sizeof(x.version)));
    f.pid = x.pid;
    f.param_count = x.param_count;
    f.config_hash = x.config_hash;
    f.param_checksum = x.param_checksum;
    f.world_size = x.world_size;
    f.slurm_ntasks = x.slurm_ntasks;
    f.slurm_procid = x.slurm_procid;
  }
  const std::string table = fingerprint_mismatch_table(all);
  if (!table.empty()) throw Error("check_fingerprints: " + table);
  return all;
}

}  // namespace seqmend
