// One point of a sweep: its config resolved and checked (every point before any runs), the key that
// says whether its results are current, its record `<point>/point.json`, and the run itself — the
// body of `seqmend sweep point DIR --index I`, one process or one MPI world per point.
//
// Key: like a pipeline stage key (experiments/cli/pipeline.h), an FNV-1a hash of what the point
// computes — a pretrain point's resolved config (with the run-time knobs threads, resume,
// overwrite and run_dir left out, so --jobs and a moved sweep directory change nothing) and its
// data's manifest checksum; a pipeline point's pipeline file (the pipeline's own stage keys then
// skip the stages a change did not touch).
//
// point.json: {name, key, state, attempts, seconds, started, finished, host, pid, slurm_job,
// exit_code, error, summary}; state running → done | stopped (a stop signal: checkpoint written,
// exit 75, resumable) | failed. Status against the current key:
//   new (no record), changed (another key), done, failed, stopped, running (a live process on this
//   host, or any record of another host's), interrupted (running, but its process is gone).
// A point re-runs unless done or running; with an unchanged key it resumes from its newest
// checkpoint, otherwise it starts afresh.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/train/pretrain_config.h"
#include "io/config.h"

namespace seqmend {

class MpiEnv;

struct PointInputs {
  std::string name;
  std::string kind;                        // pretrain | pipeline
  std::string base_text;                   // the base config's YAML
  std::string base_origin;                 // the file its errors name
  std::vector<LocatedOverride> overrides;  // applied to the base in order
  std::string dir;                         // the point's run directory
};

struct ResolvedPoint {
  std::string key;
  // pretrain: the point's config (run_dir = dir); pipeline: its pretrain section, resolved.
  PretrainConfig pretrain;
  std::string pipeline_text;  // pipeline: the point's pipeline file, run_dir = dir
  std::string data_dir;       // the training data ("" for a pipeline whose data stage has not run)
};

// Applies the overrides to the base and checks the result with the config structs; throws
// seqmend::Error naming file:line:col (the base's or the sweep file's) and the key path.
ResolvedPoint resolve_point(const PointInputs& in);

nlohmann::json read_point_record(const std::string& dir);  // null when absent or unreadable
void write_point_record(const std::string& dir, const nlohmann::json& record);
std::string point_status(const nlohmann::json& record, const std::string& key);
bool status_needs_run(const std::string& status);

// Runs the point on every rank of the job; returns 0 or, when a stop signal ended it after a
// checkpoint, DataParallelGroup::exit_code_stopped(). A point already done is skipped.
int run_point(const PointInputs& in, MpiEnv& env, const std::string& sweep_dir);

}  // namespace seqmend
