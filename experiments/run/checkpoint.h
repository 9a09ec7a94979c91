// Training checkpoints: everything a run needs to continue bit for bit after it was stopped or
// killed — parameters, AdamW moments, step, epoch, RNG and data-loader positions — in one HDF5 file
// per checkpoint in the run directory. Layout for users: "Checkpoints" in io/FORMAT.md.
//
//   Checkpointer ckpt(run.path(), cfg.checkpoint, comm.rank());
//   TrainingState st;
//   if (cfg.resume) if (auto got = ckpt.restore(model.params(), model_yaml)) st = *got;  // all ranks
//   for (...; st.step < total; ) {
//     ...one optimizer step; ++st.step...
//     if (ckpt.due(st.step) || stop) { ckpt.save(model.params(), st); comm.barrier(); }
//   }
//
// Durability: rank 0 writes `ckpt-<step>.h5` under a temporary name, fsyncs and renames it
// (io/atomic_file.h), then replaces the `latest` marker (text: the file name), then removes the
// checkpoints beyond the newest `keep`. A kill at any moment leaves the previous checkpoint whole.
// Integrity: fletcher32 on every chunk, and a CRC-32 over the bytes of every dataset and of the
// state attributes, stored as the attribute `crc32` and verified on every read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/rng.h"
#include "core/param_buffer.h"

namespace seqmend {

class ConfigVisitor;

struct CheckpointConfig {
  int64_t every = 0;  // optimizer steps between checkpoints; 0: only on a stop signal and at the end
  int64_t keep = 3;   // newest checkpoints kept in the run directory
  // On resume, a damaged newest checkpoint is an error by default (silently losing progress hides
  // disk trouble); true: warn and resume from the newest intact one.
  bool fallback_on_damage = false;
  // Test hook: sleep this long between writing the temporary file and renaming it, so a test can
  // kill the process in the middle of a checkpoint write.
  int64_t debug_pause_before_rename_ms = 0;

  void visit(ConfigVisitor& v);
};

// The run's position, besides the flat buffers.
struct TrainingState {
  int64_t step = 0;   // optimizer steps completed
  int64_t epoch = 0;  // epochs started (the loader's epoch counter)
  // Named 64-bit counters that fix every random stream and the data position: the loader's epoch
  // permutation seed and offset, Rng key/counter pairs (put_rng/get_rng), best eval metric bits...
  // Whoever writes a key reads it back; the checkpoint just keeps them.
  std::map<std::string, uint64_t> counters;
  std::map<std::string, std::vector<float>> arrays;  // e.g. the parameters of the best evaluation
  std::map<std::string, std::string> texts;          // e.g. the best evaluation's metrics as JSON
  std::string config_yaml;  // the run's resolved config (informational; a resume may change e.g. max_steps)
  std::string model_yaml;   // model hyper-parameters; a resume with different ones is an error
  std::string version;      // seqmend version that wrote it (filled in by write_checkpoint)

  void put_rng(const std::string& name, const Rng& r);
  Rng get_rng(const std::string& name) const;  // throws naming the key when absent
  uint64_t counter(const std::string& key) const;  // throws naming the key when absent
  void put_double(const std::string& key, double v);  // stored as its bit pattern
  double get_double(const std::string& key) const;
};

// Writes `pb`'s parameters and AdamW moments (zeros if the optimizer has not run) and `st` to `path`
// atomically. pause_before_rename_ms: CheckpointConfig::debug_pause_before_rename_ms.
void write_checkpoint(const std::string& path, ParamBuffer& pb, const TrainingState& st,
                      int64_t pause_before_rename_ms = 0);

// Throws unless `path` is a seqmend checkpoint file (an HDF5 file whose format attribute says so);
// reads nothing else. For a path a user gave: the message names what the file is instead.
void check_checkpoint_file(const std::string& path);

// Reads `path` into `pb` (parameters and moments; the named layout must match pb's exactly) and
// returns the state. Throws seqmend::Error naming `path` when the file is damaged or truncated
// ("checksum mismatch in runs/x/ckpt-000200.h5"), or was written for a different model.
TrainingState read_checkpoint(const std::string& path, ParamBuffer& pb);

// Checkpoint files in `dir` (complete ones only: temporaries are ignored), newest step first.
struct CheckpointFile {
  std::string path;
  int64_t step = 0;
};
std::vector<CheckpointFile> list_checkpoints(const std::string& dir);
std::string checkpoint_file_name(int64_t step);  // "ckpt-000200.h5"

class Checkpointer {
 public:
  // Rank 0 writes; every rank reads on restore.
  Checkpointer(std::string run_dir, CheckpointConfig cfg, int rank);

  const CheckpointConfig& config() const { return cfg_; }
  bool due(int64_t step) const { return cfg_.every > 0 && step > 0 && step % cfg_.every == 0; }

  // Rank 0: writes ckpt-<step>.h5, then `latest`, then prunes to `keep`; other ranks return at once
  // (the caller puts a barrier after it before anyone exits). Returns the path written.
  std::string save(ParamBuffer& pb, const TrainingState& st) const;

  // Loads the checkpoint `latest` names (files newer than it are ignored with a warning; without a
  // usable marker, the newest) into `pb`; nullopt when there is none (a fresh start). A damaged newest one throws (naming it and the intact one before it), or with
  // fallback_on_damage warns on stderr and takes the next. `model_yaml` must equal the stored one,
  // as `as_written_now` rewrites it when given (keys retired and docs changed since it was written).
  // Also removes temporaries that a killed writer left behind (rank 0).
  std::optional<TrainingState> restore(
      ParamBuffer& pb, const std::string& model_yaml,
      const std::function<std::string(const std::string&)>& as_written_now = nullptr) const;

  // Path of the checkpoint restore() loaded, for messages.
  const std::string& restored_path() const { return restored_; }

 private:
  std::string dir_;
  CheckpointConfig cfg_;
  int rank_;
  mutable std::string restored_;
};

// Rewrites `path` (metrics.jsonl) atomically keeping only lines whose "step" is <= `step` (lines
// without a step are kept): a resumed run then re-logs the steps it repeats instead of duplicating
// them. A missing file is left missing.
void truncate_metrics_after(const std::string& path, int64_t step);

}  // namespace seqmend
