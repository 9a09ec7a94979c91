#include "experiments/cli/sweep_dir.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "core/base/wall_clock.h"
#include "io/atomic_file.h"
#include "io/json_file.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SEQ_CHECK(bool(in), "sweep: cannot read ", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

PointInputs point_inputs(const SweepSpec& spec, const SweepPoint& p, const std::string& out_dir) {
  PointInputs in;
  in.name = p.name;
  in.kind = spec.kind;
  in.base_text = spec.base_text;
  in.base_origin = spec.base_origin;
  for (const auto& v : p.overrides) in.overrides.push_back({v.override_text(), v.key_at, v.value_at});
  in.dir = out_dir + "/" + p.name;
  return in;
}

nlohmann::json make_sweep_json(const SweepSpec& spec, const std::vector<std::string>& keys,
                               const std::vector<std::string>& statuses) {
  nlohmann::json j;
  j["version"] = 1;
  j["file"] = spec.file;
  j["kind"] = spec.kind;
  j["base"] = spec.base_path.empty() ? "inline" : spec.base_path;
  j["keys"] = spec.keys;
  j["seed_keys"] = spec.seed_keys;
  j["seeds"] = spec.seeds;
  j["written"] = spec.as_written;
  nlohmann::json points = nlohmann::json::array();
  for (size_t i = 0; i < spec.points.size(); ++i) {
    const SweepPoint& p = spec.points[i];
    nlohmann::json e;
    e["index"] = p.index;
    e["name"] = p.name;
    e["config"] = p.config;
    e["seed"] = p.has_seed ? nlohmann::json(p.seed) : nlohmann::json();
    nlohmann::json values = nlohmann::json::object();
    for (const auto& v : p.values) values[v.key] = v.name;
    e["values"] = values;
    nlohmann::json ov = nlohmann::json::array();
    for (const auto& v : p.overrides)
      ov.push_back({{"key", v.key}, {"value", v.yaml}, {"key_at", v.key_at}, {"value_at", v.value_at}});
    e["overrides"] = ov;
    e["key"] = i < keys.size() ? keys[i] : "";
    e["status"] = i < statuses.size() ? statuses[i] : "new";
    points.push_back(e);
  }
  j["points"] = points;
  return j;
}

void write_sweep_dir(const std::string& out_dir, const SweepSpec& spec, const nlohmann::json& sweep) {
  fs::create_directories(out_dir);
  write_file_atomic(out_dir + "/sweep.yaml", slurp(spec.file));
  write_file_atomic(out_dir + "/base.yaml", spec.base_text);
  write_sweep_json(out_dir, sweep);
}

nlohmann::json read_sweep_json(const std::string& out_dir) {
  const std::string path = out_dir + "/sweep.json";
  if (!fs::is_regular_file(path)) SEQ_FAIL("sweep: no sweep in ", out_dir, " (", path, " is missing)");
  return read_json_file(path, "sweep");
}

void write_sweep_json(const std::string& out_dir, nlohmann::json sweep) {
  sweep["updated"] = utc_now_iso8601();
  write_file_atomic(out_dir + "/sweep.json", sweep.dump(2) + "\n");
}

const nlohmann::json& sweep_point_entry(const nlohmann::json& sweep, const std::string& name, int64_t index) {
  const nlohmann::json& points = sweep.at("points");
  for (const auto& p : points)
    if (name.empty() ? p.value("index", int64_t(-1)) == index : p.value("name", "") == name) return p;
  if (name.empty()) SEQ_FAIL("sweep: no point with index ", index, " (the sweep has ", points.size(), ")");
  SEQ_FAIL("sweep: no point named '", name, "'");
}

PointInputs point_inputs(const std::string& out_dir, const nlohmann::json& sweep, const nlohmann::json& point) {
  PointInputs in;
  in.name = point.at("name").get<std::string>();
  in.kind = sweep.at("kind").get<std::string>();
  in.base_origin = out_dir + "/base.yaml";
  in.base_text = slurp(in.base_origin);
  for (const auto& o : point.at("overrides"))
    in.overrides.push_back({o.at("key").get<std::string>() + "=" + o.at("value").get<std::string>(),
                            o.value("key_at", ""), o.value("value_at", "")});
  in.dir = out_dir + "/" + in.name;
  return in;
}

}  // namespace seqmend
