// A sweep's output directory and its index, sweep.json:
//
//   OUT/sweep.yaml      the sweep file as given
//   OUT/base.yaml       the base config's text when the sweep was started: every point resolves
//                       from it, so editing the base file later does not change queued points
//   OUT/sweep.json      {version, file, kind, base, keys, seed_keys, seeds, written (set, grid, zip,
//                       points, seeds as given), points: [{index, name, config, seed, values
//                       {key: value}, overrides [{key, value, key_at, value_at}], key, status}],
//                       slurm {job_id, script, array}, updated}
//   OUT/<point>/        each point's run directory: point.json, sweep.log and the stage's files
//   OUT/results.csv, results_by_config.csv, results.md, plots/  (experiments/cli/sweep_collect.h)
//   OUT/sweep.sbatch, OUT/logs/                                  (--slurm)
//
// Only the command that starts or submits a sweep writes sweep.json; the points write their own
// point.json, which collect reads back into sweep.json's statuses.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/cli/sweep_point.h"
#include "experiments/cli/sweep_spec.h"

namespace seqmend {

// The inputs of point `p`, its base read as the sweep file names it (errors name that file).
PointInputs point_inputs(const SweepSpec& spec, const SweepPoint& p, const std::string& out_dir);

// sweep.json's content for `spec` with each point's key and status (same order as spec.points).
nlohmann::json make_sweep_json(const SweepSpec& spec, const std::vector<std::string>& keys,
                               const std::vector<std::string>& statuses);

// Writes sweep.yaml, base.yaml and sweep.json into out_dir (created), each atomically.
void write_sweep_dir(const std::string& out_dir, const SweepSpec& spec, const nlohmann::json& sweep);

nlohmann::json read_sweep_json(const std::string& out_dir);  // throws naming the file
void write_sweep_json(const std::string& out_dir, nlohmann::json sweep);

// The point of sweep.json named `name`, or at index `index` when name is empty; throws when absent.
const nlohmann::json& sweep_point_entry(const nlohmann::json& sweep, const std::string& name, int64_t index);
// Its inputs as a point runner sees them: base from OUT/base.yaml.
PointInputs point_inputs(const std::string& out_dir, const nlohmann::json& sweep, const nlohmann::json& point);

}  // namespace seqmend
