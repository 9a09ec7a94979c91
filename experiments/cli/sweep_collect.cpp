#include "experiments/cli/sweep_collect.h"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "core/base/error.h"
#include "experiments/cli/model_cost.h"
#include "experiments/train/pretrain_config.h"
#include "experiments/cli/sweep_dir.h"
#include "experiments/cli/sweep_point.h"
#include "io/atomic_file.h"
#include "io/json_file.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

using json = nlohmann::json;

const json& at(const json& j, const char* key) {
  static const json none;
  return j.is_object() && j.contains(key) ? j[key] : none;
}

// The numbers each point reports, in table order after the fixed columns.
const std::vector<std::string> kCostColumns = {"params",  "train_flops", "tokens_per_s", "wall_s",
                                               "train_s", "steps",       "best_step"};
const std::vector<std::string> kPipelineColumns = {"detect_roc_auc", "detect_pr_auc", "recovered_hr@10",
                                                   "recovered_ndcg@10"};

void add_metrics(json& row, const json& metrics, const std::string& prefix, std::vector<std::string>& columns) {
  if (!metrics.is_object()) return;
  for (const auto& [k, v] : metrics.items()) {
    if (!v.is_number() || k == "num_users") continue;
    const std::string c = prefix + k;
    row[c] = v;
    if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
  }
}

// One point's row; `metric_columns` collects the metric names met.
json point_row(const std::string& dir, const json& sweep, const json& point, std::vector<std::string>& metric_columns) {
  const bool pipeline = sweep.value("kind", "") == "pipeline";
  const std::string pdir = dir + "/" + point.at("name").get<std::string>();
  const std::string run = pipeline ? pdir + "/pretrain/run" : pdir;
  json row;
  row["point"] = point["name"];
  row["config"] = point["config"];
  const json rec = read_point_record(pdir);
  row["state"] = rec.is_object() ? rec.value("state", "new") : "new";
  // A record of another key is the point's earlier config: its numbers are not this sweep's.
  if (rec.is_object() && !point.value("key", "").empty() && rec.value("key", "") != point.value("key", ""))
    row["state"] = "changed";
  for (const auto& key : sweep.value("keys", json::array())) {
    const json& values = at(point, "values");
    row[key.get<std::string>()] = values.contains(key.get<std::string>()) ? values[key.get<std::string>()] : json();
  }
  row["seed"] = at(point, "seed");
  row["wall_s"] = rec.is_object() && rec.contains("seconds") ? rec["seconds"] : json();
  const json results = read_json_or_null(run + "/results.json");
  if (fs::is_regular_file(run + "/config.yaml")) {
    try {
      const PretrainConfig cfg = load_config<PretrainConfig>(run + "/config.yaml");
      row["params"] = parameter_count(cfg.model);
      const double tokens = at(results, "tokens").is_number() ? results["tokens"].get<double>() : 0.0;
      const double steps = at(results, "steps").is_number() ? results["steps"].get<double>() : 0.0;
      if (tokens > 0 && steps > 0) {
        const double mean = tokens / (steps * double(cfg.global_batch_size));
        row["train_flops"] = train_flops(cfg.model, tokens, tokens * targets_per_token(cfg, mean), mean);
      }
    } catch (const std::exception&) {
      // A config of another version: the row keeps what results.json says.
    }
  }
  if (results.is_object()) {
    row["tokens_per_s"] = at(results, "tokens_per_s");
    row["train_s"] = at(results, "train_seconds");
    row["steps"] = at(results, "steps");
    row["best_step"] = at(results, "best_step");
    add_metrics(row, at(results, "valid"), "valid_", metric_columns);
    add_metrics(row, at(results, "test"), "test_", metric_columns);
  }
  if (pipeline) {
    const json report = read_json_or_null(pdir + "/report.json");
    json overall = at(at(at(at(at(at(report, "audit"), "splits"), "test"), "detection"), "event"), "overall");
    if (!overall.is_object()) overall = at(at(at(at(report, "detection"), "test"), "event"), "overall");
    row["detect_roc_auc"] = at(overall, "roc_auc");
    row["detect_pr_auc"] = at(overall, "pr_auc");
    const json share = at(at(report, "recommendation"), "recovered_share");
    row["recovered_hr@10"] = at(share, "hr@10");
    row["recovered_ndcg@10"] = at(share, "ndcg@10");
  }
  return row;
}

std::string cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();  // numbers in their shortest round-trip form
}

std::string csv_cell(const json& v) {
  std::string s = cell(v);
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Mean and sample standard deviation over the seeds of each config (finished points only).
json by_config(const json& rows, const std::vector<std::string>& keys, const std::vector<std::string>& numbers,
               json& columns) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const json*>> groups;
  for (const auto& r : rows) {
    const std::string c = r.value("config", "");
    if (!groups.count(c)) order.push_back(c);
    groups[c];
    if (r.value("state", "") == "done") groups[c].push_back(&r);
  }
  columns = json::array({"config"});
  for (const auto& k : keys) columns.push_back(k);
  columns.push_back("seeds");
  for (const auto& n : numbers) {
    columns.push_back(n + "_mean");
    columns.push_back(n + "_std");
  }
  json out = json::array();
  for (const auto& c : order) {
    json row;
    row["config"] = c;
    const json* first = nullptr;
    for (const auto& r : rows)
      if (r.value("config", "") == c) {
        first = &r;
        break;
      }
    for (const auto& k : keys) row[k] = (*first)[k];
    const auto& g = groups[c];
    row["seeds"] = g.size();
    for (const auto& n : numbers) {
      std::vector<double> xs;
      for (const json* r : g)
        if (r->contains(n) && (*r)[n].is_number()) xs.push_back((*r)[n].get<double>());
      if (xs.empty()) continue;
      double mean = 0.0;
      for (double x : xs) mean += x;
      mean /= double(xs.size());
      row[n + "_mean"] = mean;
      if (xs.size() > 1) {
        double ss = 0.0;
        for (double x : xs) ss += (x - mean) * (x - mean);
        row[n + "_std"] = std::sqrt(ss / double(xs.size() - 1));
      }
    }
    out.push_back(row);
  }
  return out;
}

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::string pretty(const std::string& column, const json& v) {
  if (!v.is_number()) return v.is_null() ? "—" : cell(v);
  const double x = v.get<double>();
  if (column == "params" || column == "train_flops") return si_number(x);
  if (column.rfind("tokens_per_s", 0) == 0 || column.rfind("wall_s", 0) == 0 || column.rfind("train_s", 0) == 0)
    return fixed(x, x < 100 ? 1 : 0);
  if (column.rfind("steps", 0) == 0 || column.rfind("best_step", 0) == 0) return fixed(x, 0);
  return fixed(x, 4);
}

std::string md_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string s = "|";
  for (const auto& h : header) s += " " + h + " |";
  s += "\n|";
  for (size_t i = 0; i < header.size(); ++i) s += "---|";
  s += "\n";
  for (const auto& r : rows) {
    s += "|";
    for (const auto& c : r) s += " " + c + " |";
    s += "\n";
  }
  return s;
}

std::string plot_script() {
  // The source tree's tools/ (the binary lives in <build>/experiments), then the working directory.
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      candidates.push_back(p / "tools/plot_sweep.py");
  candidates.push_back(fs::current_path(ec) / "tools/plot_sweep.py");
  for (const auto& c : candidates)
    if (fs::is_regular_file(c)) return c.string();
  return "";
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs the plot script; "" on success, else why there are no plots.
std::string make_plots(const std::string& dir) {
  const std::string py = "/usr/bin/python3", script = plot_script();
  if (!fs::exists(py)) return py + " is not installed";
  if (script.empty()) return "tools/plot_sweep.py not found";
  FILE* p = popen((shell_quote(py) + " " + shell_quote(script) + " " + shell_quote(dir) + " 2>&1").c_str(), "r");
  if (!p) return "could not start " + py;
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int status = pclose(p);
  if (status == -1 || !WIFEXITED(status)) return "the plot script did not finish";
  const int code = WEXITSTATUS(status);
  if (code == 3)
    return "matplotlib is not installed for " + py + " (tools/install-deps.sh installs python3-matplotlib)";
  if (code != 0) return "the plot script failed (exit " + std::to_string(code) + "): " + out.substr(0, 400);
  return "";
}

}  // namespace

std::string sweep_csv(const json& columns, const json& rows) {
  std::string s;
  for (size_t i = 0; i < columns.size(); ++i) s += (i ? "," : "") + csv_cell(columns[i]);
  s += "\n";
  for (const auto& r : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      const std::string c = columns[i].get<std::string>();
      if (i) s += ",";
      s += csv_cell(r.contains(c) ? r[c] : json());
    }
    s += "\n";
  }
  return s;
}

json collect_sweep(const std::string& dir, bool plots) {
  json sweep = read_sweep_json(dir);
  const bool pipeline = sweep.value("kind", "") == "pipeline";
  std::vector<std::string> keys;
  for (const auto& k : sweep.value("keys", json::array())) keys.push_back(k.get<std::string>());

  std::vector<std::string> metrics;
  json rows = json::array();
  for (auto& point : sweep["points"]) {
    rows.push_back(point_row(dir, sweep, point, metrics));
    point["status"] = rows.back()["state"];
  }
  // valid before test; within each, by metric name, then by cut-off as a number (hr@5 before hr@10).
  auto order = [](const std::string& m) {
    const size_t at = m.find('@');
    const long k = at == std::string::npos ? 0 : std::atol(m.c_str() + at + 1);
    return std::make_tuple(m.rfind("valid_", 0) == 0 ? 0 : 1, m.substr(0, at), k);
  };
  std::sort(metrics.begin(), metrics.end(),
            [&](const std::string& a, const std::string& b) { return order(a) < order(b); });
  std::vector<std::string> numbers = kCostColumns;
  numbers.insert(numbers.end(), metrics.begin(), metrics.end());
  if (pipeline) numbers.insert(numbers.end(), kPipelineColumns.begin(), kPipelineColumns.end());
  json columns = json::array({"point", "config", "state"});
  for (const auto& k : keys) columns.push_back(k);
  columns.push_back("seed");
  for (const auto& n : numbers) columns.push_back(n);

  json config_columns;
  const json configs = by_config(rows, keys, numbers, config_columns);
  write_file_atomic(dir + "/results.csv", sweep_csv(columns, rows));
  write_file_atomic(dir + "/results_by_config.csv", sweep_csv(config_columns, configs));
  write_sweep_json(dir, sweep);

  json out = {{"columns", columns}, {"rows", rows}, {"configs", configs}, {"plots", json::array()}, {"plots_note", ""}};
  if (plots) {
    const std::string note = make_plots(dir);
    out["plots_note"] = note;
    std::vector<std::string> names;
    std::error_code ec;
    if (note.empty() && fs::is_directory(dir + "/plots"))
      for (const auto& e : fs::directory_iterator(dir + "/plots", ec))
        if (e.path().extension() == ".png") names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) out["plots"].push_back(n);
  }

  // results.md: the mean over seeds first (what a scaling question asks), then every point.
  std::string metric = "ndcg@10";
  for (const auto& r : rows)
    if (!r.value("point", "").empty()) {
      const json res =
          read_json_or_null(dir + "/" + r["point"].get<std::string>() + (pipeline ? "/pretrain/run" : "") + "/results.json");
      if (res.is_object() && res.contains("eval_metric")) {
        metric = res["eval_metric"].get<std::string>();
        break;
      }
    }
  std::vector<std::string> shown = {"params", "train_flops",     "tokens_per_s", "wall_s",
                                    "steps",  "valid_" + metric, "test_hr@10",   "test_" + metric};
  if (metric == "hr@10") shown.erase(shown.begin() + 6);
  if (pipeline) shown.insert(shown.end(), kPipelineColumns.begin(), kPipelineColumns.end());
  std::ostringstream md;
  md << "# Sweep " << sweep.value("file", "") << "\n\n";
  std::map<std::string, int> states;
  for (const auto& r : rows) ++states[r.value("state", "")];
  md << rows.size() << " points (" << sweep.value("kind", "") << ", base " << sweep.value("base", "") << "):";
  for (const auto& [s, n] : states) md << " " << s << " " << n << ";";
  md << " collected from " << dir << ".\n\n## Mean ± standard deviation over seeds\n\n";
  std::vector<std::string> header = {"config"};
  for (const auto& k : keys) header.push_back(k);
  header.push_back("seeds");
  for (const auto& c : shown) header.push_back(c);
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : configs) {
    std::vector<std::string> line = {r.value("config", "")};
    for (const auto& k : keys) line.push_back(cell(r[k]));
    line.push_back(cell(r["seeds"]));
    for (const auto& c : shown) {
      std::string v = pretty(c, r.contains(c + "_mean") ? r[c + "_mean"] : json());
      // Parameters, FLOPs and step counts are the same for every seed: no spread to show.
      if (r.contains(c + "_std") && r[c + "_std"].get<double>() != 0.0) v += " ± " + pretty(c, r[c + "_std"]);
      line.push_back(v);
    }
    cells.push_back(line);
  }
  md << md_table(header, cells) << "\n## Points\n\n";
  header = {"point", "state"};
  for (const auto& c : shown) header.push_back(c);
  cells.clear();
  for (const auto& r : rows) {
    std::vector<std::string> line = {r.value("point", ""), r.value("state", "")};
    for (const auto& c : shown) line.push_back(pretty(c, r.contains(c) ? r[c] : json()));
    cells.push_back(line);
  }
  md << md_table(header, cells) << "\nAll columns: results.csv (per point), results_by_config.csv (mean and std).\n";
  md << "\n## Plots\n\n";
  if (!out["plots_note"].get<std::string>().empty()) md << "No plots: " << out["plots_note"].get<std::string>() << "\n";
  else if (!plots) md << "Not drawn.\n";
  for (const auto& p : out["plots"]) md << "![" << p.get<std::string>() << "](plots/" << p.get<std::string>() << ")\n";
  write_file_atomic(dir + "/results.md", md.str());
  return out;
}

}  // namespace seqmend
