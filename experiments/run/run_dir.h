// A run directory: where one invocation of a stage leaves everything needed to understand and repeat
// it. Rank 0 writes, the other ranks only know the path:
//
//   RunDir run(cfg.run_dir, env);   // creates the directory (rank 0), barrier
//   run.write_config(cfg);          // config.yaml: the resolved config, every field
//   run.write_run_info();           // run.json: git commit, host, user, time, argv, versions, env
//   run.append_metrics({{"step", step}, {"loss", loss}});  // metrics.jsonl, one object per line
//
// Repeating the run is `seqmend <stage> --config <run>/config.yaml` at the commit in run.json.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "io/config.h"

namespace seqmend {

class MpiEnv;

// One JSON object per line, flushed after every line: a crashed run keeps every metric it logged,
// and `tail -f` or pandas.read_json(path, lines=True) read it while it grows. Appends to an
// existing file (a resumed run continues its log).
class MetricsLog {
 public:
  MetricsLog() = default;  // disabled: append() does nothing (ranks other than 0)
  explicit MetricsLog(const std::string& path);
  ~MetricsLog();
  MetricsLog(MetricsLog&& o) noexcept;
  MetricsLog& operator=(MetricsLog&& o) noexcept;
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  bool enabled() const { return f_ != nullptr; }
  const std::string& path() const { return path_; }
  // `record` must be a JSON object; throws seqmend::Error on a write failure (a full disk).
  void append(const nlohmann::json& record);

 private:
  std::FILE* f_ = nullptr;
  std::string path_;
};

// What run.json holds: git commit and dirty flag of the source tree, host, user, UTC time, command
// line (/proc/self/cmdline), world size, thread count, compiler and library versions (HDF5, MPI,
// yaml-cpp, nlohmann-json, CLI11, OpenBLAS config, CUDA), and the environment variables that change
// a run (SLURM_*, OMPI_*, SEQMEND_*, OMP_*, OPENBLAS_*, CUDA_VISIBLE_DEVICES).
nlohmann::json collect_run_info(int world_size);

class RunDir {
 public:
  // Rank 0 creates `path` and its parents (an existing directory is reused: a resumed run); then
  // all ranks meet at a barrier so nobody writes into a directory that does not exist yet.
  RunDir(std::string path, const MpiEnv& env);
  // Without MPI (tests, single-process tools): only rank 0 creates, no barrier.
  explicit RunDir(std::string path, int rank = 0, int world_size = 1);
  // A directory this object created and nothing was written into (the run failed first) is removed.
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  bool is_writer() const { return rank_ == 0; }

  // config.yaml, written atomically (rank 0 only).
  template <typename S>
  void write_config(S& cfg) const {
    if (is_writer()) seqmend::write_config(cfg, file("config.yaml"));
  }
  // run.json (rank 0 only); `extra` (a JSON object, e.g. {"stage": "pretrain"}) is merged in.
  // `run_id` (16 hex digits) is kept from the run.json already there, else new.
  void write_run_info(const nlohmann::json& extra = nlohmann::json::object()) const;
  // One line of metrics.jsonl (rank 0 only; other ranks do nothing).
  void append_metrics(const nlohmann::json& record);

 private:
  std::string path_;
  int rank_ = 0, world_ = 1;
  bool created_ = false;  // rank 0 made the directory (it did not exist before)
  MetricsLog metrics_;
};

}  // namespace seqmend
