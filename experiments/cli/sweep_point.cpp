#include "experiments/cli/sweep_point.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/base/wall_clock.h"
#include "distributed/mpi_env.h"
#include "experiments/cli/corrupt_stage.h"
#include "experiments/cli/detect_stage.h"
#include "experiments/run/dp_group.h"
#include "experiments/cli/evaluate_stage.h"
#include "experiments/detect/finetune_config.h"
#include "experiments/cli/pipeline.h"
#include "experiments/train/train_checkpoint.h"
#include "experiments/cli/repair_stage.h"
#include "experiments/run/run_dir.h"
#include "experiments/cli/simulate_stage.h"
#include "experiments/train/trainer.h"
#include "experiments/cli/yaml_text.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/config_text.h"
#include "io/file_checksum.h"
#include "io/ingest_options.h"
#include "kernels/threads.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

// Audit and report have no settings.
struct NoSettings {
  void visit(ConfigVisitor&) {}
};

// Checks one override of a pipeline point against its section's config struct (without the base:
// the base's own errors are the pipeline check's), so that a misspelt key or a bad value is
// reported where the sweep file gives it.
void check_section_override(const LocatedOverride& o) {
  const std::string key = o.text.substr(0, o.text.find('='));
  const size_t dot = key.find('.');
  const std::string section = key.substr(0, dot);
  if (section == "run_dir") SEQ_FAIL(o.key_at, ": run_dir: every point runs in its own directory; remove the key");
  if (section == "data") {
    if (dot != std::string::npos) SEQ_FAIL(o.key_at, ": ", key, ": `data` is a single value (simulate or ingest)");
    return;  // read_pipeline_spec checks its value
  }
  static const std::vector<std::string> sections = {"simulate", "ingest", "corrupt", "pretrain", "finetune",
                                                    "detect",   "repair", "audit",   "evaluate", "report"};
  if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
    std::string hint = config_detail::nearest(section, sections);
    SEQ_FAIL(o.key_at, ": ", key, ": a pipeline key starts with its section (",
             hint.empty() ? config_detail::join(sections, ", ") + ", data" : "did you mean `" + hint + "`?", ")");
  }
  if (dot == std::string::npos)
    SEQ_FAIL(o.key_at, ": ", key, ": give a key inside the section, e.g. pretrain.model.d_model");
  const std::vector<LocatedOverride> inner = {{o.text.substr(dot + 1), o.key_at, o.value_at}};
  try {
    if (section == "simulate") load_config_located<SimulateConfig>("", inner);
    else if (section == "ingest") load_config_located<IngestOptions>("", inner);
    else if (section == "corrupt") load_config_located<CorruptConfig>("", inner);
    else if (section == "pretrain") load_config_located<PretrainConfig>("", inner);
    else if (section == "finetune") load_config_located<FinetuneConfig>("", inner);
    else if (section == "detect") load_config_located<DetectConfig>("", inner);
    else if (section == "repair") load_config_located<RepairStageConfig>("", inner);
    else if (section == "evaluate") load_config_located<EvaluateConfig>("", inner);
    else load_config_located<NoSettings>("", inner);
  } catch (const Error& e) {
    // The struct's messages name the key inside the section; say which section too.
    SEQ_FAIL(e.what(), " (section `", section, "`)");
  }
}

std::string data_checksum(const std::string& data_dir) {
  const std::string manifest = data_dir + "/manifest.json";
  return fs::is_regular_file(manifest) ? std::to_string(file_crc32(manifest)) : std::string("none");
}

ResolvedPoint resolve_pretrain(const PointInputs& in) {
  ResolvedPoint r;
  r.pretrain = load_config_text<PretrainConfig>(in.base_text, in.base_origin, in.overrides);
  r.pretrain.run_dir = in.dir;
  r.pretrain.resume = false;
  r.pretrain.overwrite = false;
  if (r.pretrain.data_dir.empty()) SEQ_FAIL("point ", in.name, ": data_dir is not set (in the base, or under `set:`)");
  try {
    r.pretrain.validate();
    ModelConfig shape = r.pretrain.model;  // the model's own checks (heads dividing d_model, ...) now, not at its start
    if (shape.num_items == 0) shape.num_items = 1;
    shape.validate();
  } catch (const Error& e) {
    SEQ_FAIL("point ", in.name, ": ", e.what());
  }
  r.data_dir = r.pretrain.data_dir;
  PretrainConfig keyed = r.pretrain;
  keyed.threads = 0;
  keyed.run_dir.clear();
  r.key =
      stage_key_hash("sweep pretrain\n" + config_to_yaml(keyed) + "data manifest crc32 " + data_checksum(r.data_dir));
  return r;
}

ResolvedPoint resolve_pipeline(const PointInputs& in) {
  ResolvedPoint r;
  for (const auto& o : in.overrides) check_section_override(o);
  YAML::Node root;
  try {
    root = YAML::Load(in.base_text);
  } catch (const YAML::Exception& e) {
    SEQ_FAIL(in.base_origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg);
  }
  SEQ_CHECK(root.IsMap(), in.base_origin, ": a pipeline file is a mapping of stage sections");
  root.remove("run_dir");
  for (const auto& o : in.overrides) {
    const size_t eq = o.text.find('=');
    yaml_set_dotted(root, o.text.substr(0, eq), YAML::Load(o.text.substr(eq + 1)));
  }
  const std::string body = yaml_block_text(root);
  r.key = stage_key_hash("sweep pipeline\n" + body);
  r.pipeline_text = "run_dir: " + yaml_value_text(YAML::Node(in.dir)) + "\n" + body;

  // The whole point's pipeline, every stage's config resolved, in a scratch directory.
  static int counter = 0;
  const fs::path scratch =
      fs::temp_directory_path() / ("seqmend-sweep-check-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::create_directories(scratch);
  try {
    write_file_atomic((scratch / "pipeline.yaml").string(), r.pipeline_text);
    PipelineSpec spec = read_pipeline_spec((scratch / "pipeline.yaml").string());
    spec.file = in.base_origin;
    check_pipeline_configs(spec, (scratch / "run").string());
    r.pretrain = load_config_text<PretrainConfig>(root["pretrain"] ? yaml_block_text(root["pretrain"]) : "",
                                                  "the pretrain section");
  } catch (const std::exception& e) {
    fs::remove_all(scratch);
    SEQ_FAIL("point ", in.name, ": ", e.what());
  }
  fs::remove_all(scratch);
  const std::string data = in.dir + "/data/set";
  if (fs::is_regular_file(data + "/manifest.json")) r.data_dir = data;
  return r;
}

bool process_alive(const nlohmann::json& record) {
  if (record.value("host", "") != host_name()) return true;  // another node's: assume it still works
  const long pid = record.value("pid", 0L);
  if (pid <= 0 || kill(pid_t(pid), 0) != 0) return false;
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");  // a reused pid is not ours
  for (std::string arg; std::getline(cmd, arg, '\0');)
    if (arg == "sweep") return true;
  return false;
}

// A pretrain point in this process (every rank): afresh, or from its newest checkpoint.
int run_pretrain_point(const PointInputs& in, const ResolvedPoint& rp, bool same_key, MpiEnv& env,
                       const std::string& sweep_dir, nlohmann::json& summary) {
  PretrainConfig cfg = rp.pretrain;
  apply_threads_setting(cfg.threads);
  auto group = DataParallelGroup::world();
  // Now, not when training starts: a stop signal while the data loads must stop the point at its
  // first step boundary (exit 75, requeued), not kill it.
  group->install_stop_signal_handlers();
  cfg.resume = same_key && !list_checkpoints(cfg.run_dir).empty();
  if (!cfg.resume) claim_run_dir(cfg.run_dir, /*overwrite=*/true, env.rank());
  RunDir run(cfg.run_dir, env);
  Trainer trainer(cfg, *group, &run);
  PretrainConfig resolved = trainer.config();
  run.write_config(resolved);
  run.write_run_info({{"stage", "pretrain"}, {"sweep", sweep_dir}, {"point", in.name}, {"threads", num_threads()}});
  TrainCheckpoints ckpts(trainer, run, *group, cfg.checkpoint);
  if (cfg.resume) ckpts.resume();
  ckpts.install();
  nlohmann::json results = trainer.run();
  ckpts.save_now();
  summary = {{"steps", results.value("steps", 0)},
             {"valid", results.value("valid", nlohmann::json())},
             {"test", results.value("test", nlohmann::json())}};
  return results.value("stopped", false) ? DataParallelGroup::exit_code_stopped() : 0;
}

int run_pipeline_point(const PointInputs& in, const ResolvedPoint& rp, MpiEnv& env, nlohmann::json& summary) {
  auto group = DataParallelGroup::world();
  const std::string file = in.dir + "/sweep-pipeline.yaml";
  bool ok = true;
  std::string err;
  if (env.rank() == 0) {
    try {
      write_file_atomic(file, rp.pipeline_text);
    } catch (const std::exception& e) {
      ok = false;
      err = e.what();
    }
  }
  group->check_all(ok, "sweep: writing " + file + (err.empty() ? "" : ": " + err));
  PipelineSpec spec = read_pipeline_spec(file);
  nlohmann::json r = run_pipeline(spec, *group);
  summary = {{"stages", r.value("stages", nlohmann::json::array()).size()}};
  if (r.contains("stopped")) summary["stopped_in"] = r["stopped"];
  return r.contains("stopped") ? DataParallelGroup::exit_code_stopped() : 0;
}

}  // namespace

ResolvedPoint resolve_point(const PointInputs& in) {
  SEQ_CHECK(in.kind == "pretrain" || in.kind == "pipeline", "sweep: unknown point kind '", in.kind, "'");
  return in.kind == "pretrain" ? resolve_pretrain(in) : resolve_pipeline(in);
}

nlohmann::json read_point_record(const std::string& dir) {
  const nlohmann::json j = read_json_or_null(dir + "/point.json");  // damaged: "never ran"
  return j.is_object() ? j : nlohmann::json();
}

void write_point_record(const std::string& dir, const nlohmann::json& record) {
  fs::create_directories(dir);
  write_file_atomic(dir + "/point.json", record.dump(2) + "\n");
}

std::string point_status(const nlohmann::json& record, const std::string& key) {
  if (!record.is_object()) return "new";
  if (record.value("key", "") != key) return "changed";
  const std::string state = record.value("state", "");
  if (state == "done" || state == "failed" || state == "stopped") return state;
  if (state == "running") return process_alive(record) ? "running" : "interrupted";
  return "new";
}

bool status_needs_run(const std::string& status) { return status != "done" && status != "running"; }

int run_point(const PointInputs& in, MpiEnv& env, const std::string& sweep_dir) {
  const ResolvedPoint rp = resolve_point(in);
  const nlohmann::json before = read_point_record(in.dir);
  const bool rank0 = env.rank() == 0;
  if (point_status(before, rp.key) == "done") {
    if (rank0) std::printf("sweep: point %s is done (key %s), skipped\n", in.name.c_str(), rp.key.c_str());
    return 0;
  }
  const bool same_key = before.is_object() && before.value("key", "") == rp.key;
  nlohmann::json rec = same_key ? before : nlohmann::json::object();
  rec["name"] = in.name;
  rec["key"] = rp.key;
  rec["state"] = "running";
  rec["attempts"] = rec.value("attempts", 0) + 1;
  rec["started"] = utc_now_iso8601();
  rec["host"] = host_name();
  rec["pid"] = long(getpid());
  rec["world_size"] = env.world();
  if (const char* job = std::getenv("SLURM_JOB_ID")) rec["slurm_job"] = job;
  rec.erase("error");
  rec.erase("exit_code");
  if (rank0) {
    write_point_record(in.dir, rec);
    std::printf("sweep: point %s (%s, key %s, attempt %d) in %s\n", in.name.c_str(), same_key ? "resuming" : "starting",
                rp.key.c_str(), rec["attempts"].get<int>(), in.dir.c_str());
    std::fflush(stdout);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const double before_s = rec.value("seconds", 0.0);
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  nlohmann::json summary;
  int code = 0;
  try {
    code = in.kind == "pretrain" ? run_pretrain_point(in, rp, same_key, env, sweep_dir, summary)
                                 : run_pipeline_point(in, rp, env, summary);
  } catch (const std::exception& e) {
    if (rank0) {
      rec["state"] = "failed";
      rec["error"] = e.what();
      rec["exit_code"] = 1;
      rec["seconds"] = before_s + elapsed();
      rec["finished"] = utc_now_iso8601();
      write_point_record(in.dir, rec);
    }
    throw;
  }
  rec["state"] = code == 0 ? "done" : "stopped";
  rec["exit_code"] = code;
  rec["seconds"] = before_s + elapsed();
  rec["finished"] = utc_now_iso8601();
  rec["summary"] = summary;
  if (rank0) write_point_record(in.dir, rec);
  return code;
}

}  // namespace seqmend
