#include "experiments/run/run_dir.h"

#include <hdf5.h>
#include <mpi.h>
#include <pwd.h>
#include <unistd.h>

#include <CLI/Version.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <cstdio>
#include <random>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "core/base/error.h"
#include "core/base/wall_clock.h"
#include "distributed/mpi_env.h"
#include "io/atomic_file.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "kernels/threads.h"

extern "C" char* openblas_get_config(void);
extern char** environ;

// Set by experiments/CMakeLists.txt for this file; the fallbacks keep a hand-built copy compiling.
#ifndef SEQMEND_SOURCE_DIR
#define SEQMEND_SOURCE_DIR ""
#endif
#ifndef SEQMEND_YAML_CPP_VERSION
#define SEQMEND_YAML_CPP_VERSION "unknown"
#endif
#ifndef SEQMEND_VERSION
#define SEQMEND_VERSION "unknown"
#endif

namespace seqmend {
namespace {

using nlohmann::json;

// stdout of a shell command, trailing newline removed; nullopt when it cannot run or exits non-zero.
std::optional<std::string> run_command(const std::string& cmd) {
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (::pclose(p) != 0) return std::nullopt;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

json git_info() {
  // SEQMEND_SOURCE_DIR in the environment wins: the binary may have been built in one place and the
  // tree moved (a cluster's shared file system mounted elsewhere).
  const char* env_dir = std::getenv("SEQMEND_SOURCE_DIR");
  std::string dir = env_dir && *env_dir ? env_dir : SEQMEND_SOURCE_DIR;
  json g = {{"source_dir", dir}, {"commit", nullptr}, {"dirty", nullptr}};
  if (dir.empty()) return g;
  const std::string git = "git -C " + shell_quote(dir) + " ";
  auto commit = run_command(git + "rev-parse HEAD 2>/dev/null");
  if (!commit || commit->empty()) {
    g["error"] = "git rev-parse HEAD failed (no git, not a repository, or not readable)";
    return g;
  }
  g["commit"] = *commit;
  // Tracked changes only: build directories and scratch files do not make a tree dirty.
  auto status = run_command(git + "status --porcelain --untracked-files=no 2>/dev/null");
  if (status) g["dirty"] = !status->empty();
  return g;
}

std::string user_name() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
  return std::to_string(::geteuid());
}

// argv as the kernel saw it; MPI_Init may rewrite argv, /proc does not change.
json command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json args = json::array();
  std::string cur;
  for (char c : all) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  return args;
}

json environment_of_interest() {
  static const char* kPrefixes[] = {"SLURM_", "OMPI_", "SEQMEND_", "OMP_", "OPENBLAS_"};
  json env = json::object();
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(0, eq);
    bool keep = key == "CUDA_VISIBLE_DEVICES";
    for (const char* p : kPrefixes) keep = keep || key.rfind(p, 0) == 0;
    if (keep) env[key] = kv.substr(eq + 1);
  }
  return env;  // nlohmann::json objects are sorted by key: stable diffs between runs
}

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return "unknown";
#endif
}

json library_versions() {
  json libs;
  unsigned maj = 0, min = 0, rel = 0;
  if (H5get_libversion(&maj, &min, &rel) >= 0) libs["hdf5"] = std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel);
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  if (MPI_Get_library_version(mpi, &len) == MPI_SUCCESS) {
    std::string s(mpi, size_t(len));
    libs["mpi"] = s.substr(0, s.find_first_of(",\n"));  // "Open MPI v4.1.4"; the rest is build detail
  }
#ifdef OMPI_MAJOR_VERSION
  libs["openmpi_headers"] = std::to_string(OMPI_MAJOR_VERSION) + "." + std::to_string(OMPI_MINOR_VERSION) + "." +
                            std::to_string(OMPI_RELEASE_VERSION);
#endif
  libs["yaml_cpp"] = SEQMEND_YAML_CPP_VERSION;
  libs["nlohmann_json"] = std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." + std::to_string(NLOHMANN_JSON_VERSION_MINOR) +
                          "." + std::to_string(NLOHMANN_JSON_VERSION_PATCH);
  libs["cli11"] = CLI11_VERSION;
  const char* blas = openblas_get_config();
  libs["openblas"] = blas ? blas : "unknown";
  libs["cuda_compiled"] = cuda_compiled();
  return libs;
}

}  // namespace

// ---- MetricsLog -------------------------------------------------------------------------------

MetricsLog::MetricsLog(const std::string& path) : path_(path) {
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) SEQ_FAIL("metrics log: cannot open ", path, " for appending: ", std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (f_) std::fclose(f_);
}

MetricsLog::MetricsLog(MetricsLog&& o) noexcept : f_(o.f_), path_(std::move(o.path_)) { o.f_ = nullptr; }

MetricsLog& MetricsLog::operator=(MetricsLog&& o) noexcept {
  if (this != &o) {
    if (f_) std::fclose(f_);
    f_ = o.f_;
    path_ = std::move(o.path_);
    o.f_ = nullptr;
  }
  return *this;
}

void MetricsLog::append(const nlohmann::json& record) {
  if (!f_) return;
  SEQ_CHECK(record.is_object(), "metrics log ", path_, ": a record must be a JSON object, got ", record.dump());
  // NaN/inf are not JSON: nlohmann writes them as null, which keeps the line parseable.
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0)
    SEQ_FAIL("metrics log: write to ", path_, " failed: ", std::strerror(errno));
}

// ---- run info and RunDir ----------------------------------------------------------------------

nlohmann::json collect_run_info(int world_size) {
  json info;
  info["seqmend_version"] = SEQMEND_VERSION;
  info["git"] = git_info();
  info["host"] = host_name();
  info["user"] = user_name();
  info["start_time_utc"] = utc_now_iso8601();
  info["unix_time"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  info["command_line"] = command_line();
  info["cwd"] = std::filesystem::current_path().string();
  info["pid"] = ::getpid();
  info["world_size"] = world_size;
  info["threads"] = num_threads();
  info["hardware_threads"] = std::thread::hardware_concurrency();
  info["compiler"] = compiler();
  info["cxx_standard"] = __cplusplus;
  info["libraries"] = library_versions();
  info["cpu"] = {{"model", cpu_model_name()},
                 {"isa", cpu_isa()},
                 {"gemm", gemm_path_name(gemm_path())},
                 {"openblas_core", blas_core()}};
  info["environment"] = environment_of_interest();
  return info;
}

RunDir::RunDir(std::string path, int rank, int world_size) : path_(std::move(path)), rank_(rank), world_(world_size) {
  SEQ_CHECK(!path_.empty(), "run directory: empty path");
  while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  if (!is_writer()) return;
  std::error_code ec;
  created_ = !std::filesystem::exists(path_, ec);
  std::filesystem::create_directories(path_, ec);
  if (ec || !std::filesystem::is_directory(path_))
    SEQ_FAIL("run directory: cannot create ", path_, ": ", ec ? ec.message() : "exists and is not a directory");
}

RunDir::~RunDir() {
  std::error_code ec;
  if (created_ && std::filesystem::is_empty(path_, ec) && !ec) std::filesystem::remove(path_, ec);
}

RunDir::RunDir(std::string path, const MpiEnv& env) : RunDir(std::move(path), env.rank(), env.world()) {
  // A failure on rank 0 throws before the barrier; main then aborts the whole job.
  if (env.world() > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void RunDir::write_run_info(const nlohmann::json& extra) const {
  if (!is_writer()) return;
  SEQ_CHECK(extra.is_object(), "run directory ", path_, ": run info extras must be a JSON object");
  json info = collect_run_info(world_);
  // The run's identity outlives restarts: a resumed run keeps the id of the run.json it finds.
  std::string id;
  {
    std::ifstream f(file("run.json"));
    const json old = f ? json::parse(f, nullptr, false) : json();
    if (old.is_object() && old.contains("run_id") && old["run_id"].is_string()) id = old["run_id"].get<std::string>();
  }
  if (id.empty()) {
    std::random_device rd;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%08x%08x", rd(), rd());
    id = hex;
  }
  info["run_id"] = id;
  info.update(extra);
  write_file_atomic(file("run.json"), info.dump(2) + "\n");
}

void RunDir::append_metrics(const nlohmann::json& record) {
  if (!is_writer()) return;
  if (!metrics_.enabled()) metrics_ = MetricsLog(file("metrics.jsonl"));  // first record creates the file
  metrics_.append(record);
}

}  // namespace seqmend
