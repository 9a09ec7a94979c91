#include "experiments/cli/pipeline.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/base/error.h"
#include "experiments/run/dp_group.h"
#include "experiments/cli/pipeline_stages.h"
#include "experiments/cli/report.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/file_checksum.h"

namespace fs = std::filesystem;

namespace seqmend {

const std::vector<std::string>& pipeline_stage_order() {
  static const std::vector<std::string> order = {"data",   "pretrain", "finetune", "detect",
                                                 "repair", "audit",    "evaluate", "report"};
  return order;
}

std::string stage_key_hash(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return buf;
}

PipelineSpec read_pipeline_spec(const std::string& path) {
  SEQ_CHECK(fs::is_regular_file(path), "run: pipeline file '", path, "' does not exist");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    SEQ_FAIL("run: ", path, ": ", e.what());
  }
  SEQ_CHECK(root.IsMap(), "run: ", path, ": the top level must be a map of stage sections");
  PipelineSpec spec;
  spec.file = path;
  static const std::set<std::string> sections = {"simulate", "ingest", "corrupt",  "pretrain", "finetune",
                                                 "detect",   "repair", "audit",    "evaluate", "report"};
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    int line = kv.first.Mark().line + 1;
    if (key == "run_dir" || key == "data") {
      SEQ_CHECK(kv.second.IsScalar(), "run: ", path, ":", line, ": ", key, " must be a string");
      (key == "run_dir" ? spec.run_dir : spec.data) = kv.second.as<std::string>();
    } else if (sections.count(key)) {
      SEQ_CHECK(kv.second.IsMap() || kv.second.IsNull(),
                "run: ", path, ":", line, ": section '", key, "' must be a map of settings");
      YAML::Emitter out;
      if (kv.second.IsMap()) out << kv.second;
      spec.sections[key] = kv.second.IsMap() ? std::string(out.c_str()) + "\n" : std::string();
    } else {
      SEQ_FAIL("run: ", path, ":", line, ": unknown key '", key
                       , "' (known: run_dir, data, simulate, ingest, corrupt, pretrain, finetune, detect, repair, "
                           "evaluate, report)");
    }
  }
  SEQ_CHECK(!spec.run_dir.empty(), "run: ", path, ": run_dir is required");
  SEQ_CHECK(spec.data == "simulate" || spec.data == "ingest",
            "run: ", path, ": data must be simulate or ingest, got '", spec.data, "'");
  SEQ_CHECK(spec.data == "ingest" || !spec.sections.count("corrupt"), "run: ", path,
            ": a corrupt section needs data: ingest (simulate injects anomalies itself, in simulate.inject)");
  return spec;
}

namespace {

// The stage at a pipeline position; the data stage is chosen by the file's `data` key and whether
// it has a corrupt section.
PipelineStage stage_for(const std::string& name, const PipelineSpec& spec) {
  if (name == "data")
    return spec.data == "simulate"          ? simulate_pipeline_stage()
           : spec.sections.count("corrupt") ? ingest_corrupt_pipeline_stage()
                                            : ingest_pipeline_stage();
  if (name == "pretrain") return pretrain_pipeline_stage();
  if (name == "finetune") return finetune_pipeline_stage();
  if (name == "detect") return detect_pipeline_stage();
  if (name == "repair") return repair_pipeline_stage();
  if (name == "audit") return audit_pipeline_stage();
  if (name == "evaluate") return evaluate_pipeline_stage();
  if (name == "report") return report_pipeline_stage();
  SEQ_FAIL("run: no pipeline stage named '", name, "'");
}

// An absent or empty section is an empty map, so the stage's config reader sees its defaults.
std::string section_text(const PipelineSpec& spec, const std::string& section) {
  auto it = spec.sections.find(section);
  return it == spec.sections.end() || it->second.empty() ? std::string("{}\n") : it->second;
}

// <root>/<stage>/section.yaml for every stage, and the corrupt section in the data stage's
// directory (read by ingest_corrupt_pipeline_stage) — removed when the file has none, so that a
// re-run without one does not pick up a stale one.
void write_stage_sections(const PipelineSpec& spec, const std::string& root) {
  for (const auto& name : pipeline_stage_order()) {
    fs::create_directories(root + "/" + name);
    write_file_atomic(root + "/" + name + "/section.yaml", section_text(spec, name == "data" ? spec.data : name));
  }
  const std::string corrupt_file = pipeline_corrupt_section(root + "/data");
  if (spec.sections.count("corrupt"))
    write_file_atomic(corrupt_file, section_text(spec, "corrupt"));
  else
    fs::remove(corrupt_file);
}

// Stage directories under `root`; name and paths of the current stage are set by enter_stage.
StageContext pipeline_context(const std::string& root) {
  StageContext ctx;
  ctx.run_dir = root;
  for (const auto& name : pipeline_stage_order()) ctx.stage_dirs[name] = root + "/" + name;
  return ctx;
}

void enter_stage(StageContext& ctx, const std::string& name) {
  ctx.name = name;
  ctx.dir = ctx.stage_dirs[name];
  ctx.config_file = ctx.dir + "/section.yaml";
}

// Rank 0 lays out the directories, each stage's section file and a copy of the pipeline file
// before any rank reads them.
void lay_out_run_dir(const PipelineSpec& spec, DataParallelGroup& group) {
  bool ok = true;
  std::string err;
  if (group.rank() == 0) {
    try {
      write_stage_sections(spec, spec.run_dir);
      std::ifstream in(spec.file);
      std::stringstream ss;
      ss << in.rdbuf();
      write_file_atomic(spec.run_dir + "/pipeline.yaml", ss.str());
    } catch (const std::exception& e) {
      ok = false;
      err = e.what();
    }
  }
  group.check_all(ok, "run: setting up " + spec.run_dir + (err.empty() ? "" : ": " + err));
}

// Runs the stage (on rank 0, or on every rank for a collective one), fills `entry`'s seconds and
// summary, and returns the done.json rank 0 wrote, as every rank reads it back. A stage that a stop
// signal ended (its summary says "stopped") gets no done.json: its started.json stays, and the next
// run resumes it.
nlohmann::json run_stage(const PipelineStage& stage, const StageContext& ctx, const std::string& key,
                         DataParallelGroup& group, nlohmann::json& entry) {
  const int rank = group.rank();
  const std::string& name = ctx.name;
  if (rank == 0)
    std::printf("run: %-8s %s in %s\n", name.c_str(), ctx.resume ? "resuming" : "running", ctx.dir.c_str());
  std::fflush(stdout);
  auto t0 = std::chrono::steady_clock::now();
  nlohmann::json result;
  bool ok = true;
  std::string err;
  if (rank == 0 || stage.all_ranks) {
    try {
      if (rank == 0) {
        fs::remove(ctx.dir + "/done.json");  // a failure below leaves the stage not done
        write_file_atomic(ctx.dir + "/started.json", nlohmann::json({{"stage", name}, {"key", key}}).dump(2) + "\n");
      }
      result = stage.run(ctx);
    } catch (const std::exception& e) {
      ok = false;
      err = e.what();
    }
  }
  group.check_all(ok, "run: stage '" + name + "' failed" + (err.empty() ? "" : ": " + err));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  entry["seconds"] = seconds;
  entry["summary"] = result;
  const bool stopped = !group.all_agree(!(result.is_object() && result.value("stopped", false)));
  if (stopped) {
    entry["stopped"] = true;
    if (rank == 0)
      std::printf("run: %-8s stopped by a signal after %.1f s%s; the same command resumes it\n", name.c_str(),
                  seconds, result.contains("steps") ? (" at step " + result["steps"].dump()).c_str() : "");
    return nullptr;
  }
  if (rank == 0) {
    nlohmann::json outputs = nlohmann::json::object();
    for (const auto& f : stage.outputs) {
      std::string p = ctx.dir + "/" + f;
      if (fs::is_regular_file(p)) outputs[f] = file_crc32(p);
    }
    const nlohmann::json done = {
        {"stage", name}, {"key", key}, {"seconds", seconds}, {"outputs", outputs}, {"summary", result}};
    write_file_atomic(ctx.dir + "/done.json", done.dump(2) + "\n");
    std::printf("run: %-8s done in %.1f s\n", name.c_str(), seconds);
  }
  group.check_all(true, "run: after stage '" + name + "'");
  return read_json_or_null(ctx.dir + "/done.json");
}

}  // namespace

void check_pipeline_configs(const PipelineSpec& spec, const std::string& scratch_dir) {
  write_stage_sections(spec, scratch_dir);
  StageContext ctx = pipeline_context(scratch_dir);
  for (const auto& name : pipeline_stage_order()) {
    enter_stage(ctx, name);
    const PipelineStage stage = stage_for(name, spec);
    try {
      stage.resolve(ctx);
    } catch (const std::exception& e) {
      SEQ_FAIL("stage '", name, "' of ", spec.file, ": ", e.what());
    }
  }
}

nlohmann::json run_pipeline(const PipelineSpec& spec, DataParallelGroup& group, const PipelineOptions& options) {
  const int rank = group.rank();
  const auto& order = pipeline_stage_order();
  if (!options.stop_after.empty())
    SEQ_CHECK(std::find(order.begin(), order.end(), options.stop_after) != order.end(),
              "run: stop_after '", options.stop_after, "' is not a stage");
  lay_out_run_dir(spec, group);

  StageContext ctx = pipeline_context(spec.run_dir);
  ctx.group = &group;
  ctx.rank = rank;
  ctx.world = group.size();
  // SIGUSR1 / SIGTERM (Slurm before the time limit, a sweep stopping its points) end the pipeline
  // at a safe point instead of killing it: a training stage checkpoints at its next step boundary,
  // any other stage finishes first; no later stage starts, and the exit code is 75 (requeue).
  group.install_stop_signal_handlers();
  nlohmann::json summary = {{"run_dir", spec.run_dir}, {"stages", nlohmann::json::array()}};
  std::string upstream;  // keys and output checksums of the stages before this one
  for (const auto& name : order) {
    enter_stage(ctx, name);
    const PipelineStage stage = stage_for(name, spec);
    const std::string key = stage_key_hash(name + "\n" + stage.resolve(ctx) + "\n" + upstream);
    nlohmann::json done = read_json_or_null(ctx.dir + "/done.json");
    const bool skip = group.all_agree(!options.force && done.is_object() && done.value("key", "") == key);
    nlohmann::json entry = {{"name", name}, {"dir", ctx.dir}, {"key", key}, {"skipped", skip}};
    if (skip) {
      if (rank == 0) std::printf("run: %-8s unchanged (key %s), skipped\n", name.c_str(), key.c_str());
      entry["summary"] = done.value("summary", nlohmann::json());
    } else {
      if (group.stop_requested_anywhere()) {
        if (rank == 0) std::printf("run: stopped by a signal before %s; the same command goes on from there\n", name.c_str());
        summary["stopped"] = name;
        break;
      }
      // Started before under this very key and not done (stopped, killed or failed): a training
      // stage picks up its newest checkpoint, if it has one, instead of starting afresh.
      const nlohmann::json started = read_json_or_null(ctx.dir + "/started.json");
      ctx.resume = group.all_agree(!options.force && started.is_object() && started.value("key", "") == key);
      done = run_stage(stage, ctx, key, group, entry);
      ctx.resume = false;
    }
    summary["stages"].push_back(entry);
    if (entry.value("stopped", false)) {  // no done.json: the next run resumes this stage
      summary["stopped"] = name;
      break;
    }
    upstream += name + "=" + key + " " + (done.is_object() ? done.value("outputs", nlohmann::json()).dump() : "") + "\n";
    if (name == options.stop_after) break;
  }
  // Stopped after a stage as asked: a report of what ran, beside the whole run's (report.h).
  if (!summary.contains("stopped") && !options.stop_after.empty() && options.stop_after != "report") {
    std::string err;
    if (rank == 0) {
      try {
        write_partial_report(spec.run_dir, options.stop_after);
      } catch (const std::exception& e) {
        err = e.what();
      }
    }
    group.check_all(err.empty(), err.empty() ? "run: writing the partial report" : err);
    summary["partial_report"] = spec.run_dir + "/report.partial.md";
  }
  return summary;
}

}  // namespace seqmend
