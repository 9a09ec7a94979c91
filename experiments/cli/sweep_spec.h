// A sweep file: which configs `seqmend sweep` trains, one run directory per point.
//
//   base: experiments/configs/ml100k.yaml   # a pretrain config or a pipeline file: a path (from the working
//                                   # directory, as every path in a config) or an inline mapping
//   kind: pretrain                  # pretrain | pipeline; absent: pipeline when the base has
//                                   # pipeline sections (run_dir, data, simulate, pretrain, ...)
//   set:                            # the same override on every point (not in the point names)
//     data_dir: /tmp/ml100k
//   grid:                           # cartesian product, first key slowest
//     model.d_model: [32, 64, 128]
//     model.num_layers: [1, 2, 3]
//   zip:                            # groups of keys that take their values together
//     - model.d_model: [64, 128]
//       optim.lr: [0.001, 0.0005]
//   points:                         # extra points, each its own overrides
//     - {model.d_model: 256, model.num_layers: 4}
//   seeds: [1, 2]                   # every point once per seed, innermost
//   seed_keys: [seed, model.seed]   # the keys a seed sets (default: pretrain `seed` and `model.seed`,
//                                   # pipeline `pretrain.seed` and `pretrain.model.seed`)
//
// Keys are dotted paths into the base config (pipeline: `pretrain.model.d_model`), values YAML
// scalars or flow sequences. Zip groups are further dimensions of the product. The file is read
// with the rules of every config (io/config.h): unknown keys with "did you mean", wrong shapes and
// types as `file:line:col: key.path: what`; the overrides themselves are checked against the
// base's config struct when each point is resolved (experiments/cli/sweep_point.h), their errors naming
// where in the sweep file the key or value was written.
//
// A point is named from its overrides: `d_model=128,num_layers=2,seed=1` — every grid and zip key
// and the point's own keys, by the shortest unique dotted suffix, values with characters other than
// letters, digits and `._+-` replaced by `_` (a collision or an overlong name gets a hash suffix).
// Names depend on the keys and values alone, so adding a value keeps the other points' names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace seqmend {

// One key = value of a point, as written in the sweep file.
struct SweepValue {
  std::string key;       // "model.d_model"
  std::string yaml;      // the value as override text: 128, [64, 64], "0.1" (quoted stays a string)
  std::string name;      // its spelling in the point name, before sanitising: 128, 64-64, 0.1
  std::string key_at;    // "sweep.yaml:5:3"
  std::string value_at;  // "sweep.yaml:5:18"

  std::string override_text() const { return key + "=" + yaml; }
};

struct SweepPoint {
  int64_t index = 0;
  std::string name;                // its run directory under the sweep's output directory
  std::string config;              // the name without the seed: the points a seed mean is over
  std::vector<SweepValue> values;  // the varied values: grid, zip and point keys, in name order
  bool has_seed = false;
  uint64_t seed = 0;
  std::vector<SweepValue> overrides;  // everything applied to the base: set, values, seed keys
};

struct SweepSpec {
  std::string file;       // the sweep file
  std::string kind;       // pretrain | pipeline
  std::string base_path;  // the base config's file, "" when inline
  // The base's text: the file's, or for an inline base the sweep file with every line outside the
  // base blanked (so a config error in it names the sweep file's own line and column).
  std::string base_text;
  std::string base_origin;        // the name errors in base_text give: base_path or the sweep file
  std::vector<std::string> keys;  // grid, zip and point keys, in name order (table columns)
  std::vector<std::string> seed_keys;
  std::vector<uint64_t> seeds;
  std::vector<SweepPoint> points;
  nlohmann::json as_written;  // set, grid, zip, points, seeds as JSON, for sweep.json
};

// Reads and checks the sweep file and expands its points. Throws seqmend::Error naming
// file:line:col and the key path.
SweepSpec read_sweep_spec(const std::string& path);

// The run-directory name of a point from its values (`key=value,...`, "base" for none); the spec
// reader adds hash suffixes where names collide.
std::string point_name(const std::vector<SweepValue>& values, const std::vector<std::string>& keys, bool has_seed,
                       uint64_t seed);

// `value` made safe as part of a file name: letters, digits and `._+-` kept, others `_`.
std::string filesystem_safe(const std::string& value);

}  // namespace seqmend
