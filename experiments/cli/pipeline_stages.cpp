#include "experiments/cli/pipeline_stages.h"

#include <filesystem>

#include "core/base/error.h"
#include "experiments/cli/audit_stage.h"
#include "experiments/cli/corrupt_stage.h"
#include "experiments/run/dp_group.h"
#include "experiments/run/resume_or_clear.h"
#include "experiments/train/train_checkpoint.h"
#include "experiments/train/pretrain_config.h"
#include "experiments/run/run_dir.h"
#include "experiments/cli/evaluate_stage.h"
#include "experiments/cli/repair_stage.h"
#include "experiments/cli/report.h"
#include "experiments/cli/simulate_stage.h"
#include "experiments/train/trainer.h"
#include "io/atomic_file.h"
#include "io/ingest.h"
#include "io/ingest_options.h"
#include "kernels/threads.h"

namespace fs = std::filesystem;

namespace seqmend {

std::string pipeline_data_set(const StageContext& ctx) { return ctx.stage_dirs.at("data") + "/set"; }

std::string pipeline_truth_dir(const StageContext& ctx) { return truth_dir_of(pipeline_data_set(ctx)); }

std::string pipeline_corrupt_section(const std::string& data_stage_dir) { return data_stage_dir + "/corrupt.yaml"; }

namespace {

SimulateConfig load_simulate(const StageContext& ctx) {
  auto cfg = load_config<SimulateConfig>(ctx.config_file);
  cfg.overwrite = true;  // the pipeline owns data/set; a re-run replaces it
  return cfg;
}

CorruptConfig load_corrupt(const StageContext& ctx) {
  auto cfg = load_config<CorruptConfig>(pipeline_corrupt_section(ctx.dir));
  cfg.overwrite = true;  // the pipeline owns data/set; a re-run replaces it
  return cfg;
}

PretrainConfig load_pretrain(const StageContext& ctx) {
  auto cfg = load_config<PretrainConfig>(ctx.config_file);
  SEQ_CHECK(cfg.data_dir.empty() && cfg.run_dir.empty(), "run: ", ctx.config_file,
            ": pretrain.data_dir and pretrain.run_dir are set by the pipeline; remove them");
  cfg.data_dir = pipeline_data_set(ctx);
  cfg.run_dir = ctx.dir + "/run";
  cfg.resume = false;
  return cfg;
}

RepairStageConfig load_repair(const StageContext& ctx) {
  auto cfg = load_config<RepairStageConfig>(ctx.config_file);
  SEQ_CHECK(cfg.data_dir.empty() && cfg.out_dir.empty() && cfg.scores_train.empty() && cfg.scores_valid.empty() &&
                cfg.scores_test.empty() && cfg.truth.empty() && cfg.detector_checkpoint.empty() &&
                cfg.encoder_checkpoint.empty(),
            "run: ", ctx.config_file, ": the repair section's paths are set by the pipeline; remove them");
  cfg.data_dir = pipeline_data_set(ctx);
  cfg.out_dir = ctx.dir + "/set";
  for (auto [split, field] : {std::pair{"train", &cfg.scores_train}, {"valid", &cfg.scores_valid},
                              {"test", &cfg.scores_test}}) {
    std::string f = ctx.stage_dirs.at("detect") + "/" + split + "/scores.h5";
    if (fs::is_regular_file(f)) *field = f;
  }
  std::string truth = pipeline_data_set(ctx) + "/repair_truth.tsv";
  if (fs::is_regular_file(truth)) cfg.truth = truth;
  std::string det = ctx.stage_dirs.at("finetune") + "/run/detector.h5";
  if (fs::is_regular_file(det)) cfg.detector_checkpoint = det;
  cfg.encoder_checkpoint = ctx.stage_dirs.at("pretrain") + "/run";
  cfg.overwrite = true;
  return cfg;
}

// The pretrain stage's resolved config: the recommenders' config unless the evaluate section names one.
std::string pipeline_pretrain_config(const StageContext& ctx) { return ctx.stage_dirs.at("pretrain") + "/run/config.yaml"; }

EvaluateConfig load_evaluate(const StageContext& ctx) {
  auto cfg = load_config<EvaluateConfig>(ctx.config_file);
  SEQ_CHECK(cfg.raw_dir.empty() && cfg.repaired_dir.empty() && cfg.clean_dir.empty() && cfg.run_dir.empty(),
            "run: ", ctx.config_file, ": the evaluate section's data and run paths are set by the pipeline; remove them");
  // A pretrain_config of the user's trains the recommenders with another model or budget than the
  // detector's encoder (e.g. a causal recommender); by default they are the pretrain section's.
  if (cfg.pretrain_config.empty()) cfg.pretrain_config = pipeline_pretrain_config(ctx);
  cfg.raw_dir = pipeline_data_set(ctx);
  cfg.repaired_dir = ctx.stage_dirs.at("repair") + "/set";
  // The clean ceiling is truth: beside the data, or kept apart in data/set.truth for a noisy log.
  for (const std::string& dir : {pipeline_data_set(ctx), pipeline_truth_dir(ctx)})
    if (cfg.clean_dir.empty() && fs::is_regular_file(dir + "/clean/manifest.json")) cfg.clean_dir = dir + "/clean";
  cfg.run_dir = ctx.dir + "/run";
  return cfg;
}

}  // namespace

PipelineStage repair_pipeline_stage() {
  PipelineStage s;
  s.all_ranks = true;  // run_repair is collective: predictions in shares, rank 0 writes
  s.resolve = [](const StageContext& ctx) {
    auto cfg = load_repair(ctx);
    return config_to_yaml(cfg);
  };
  s.run = [](const StageContext& ctx) {
    auto cfg = load_repair(ctx);
    nlohmann::json r = run_repair(cfg, ctx.group);
    return nlohmann::json{{"predictor", r.value("predictor", "")}, {"stats", r.value("stats", nlohmann::json())}};
  };
  s.outputs = {"set/manifest.json", "set/edits.csv"};
  return s;
}

PipelineStage evaluate_pipeline_stage() {
  PipelineStage s;
  s.all_ranks = true;
  s.resolve = [](const StageContext& ctx) {
    auto cfg = load_evaluate(ctx);
    std::string key = config_to_yaml(cfg);
    // The pretrain section's config is in the pretrain stage's key already; a file of the user's
    // is not, and editing it must re-run the stage.
    if (cfg.pretrain_config != pipeline_pretrain_config(ctx)) {
      auto rec = load_config<PretrainConfig>(cfg.pretrain_config);
      key += "# recommender config:\n" + config_to_yaml(rec);
    }
    return key;
  };
  s.run = [](const StageContext& ctx) {
    auto cfg = load_evaluate(ctx);
    return run_evaluate(cfg, *ctx.group, ctx.resume);
  };
  s.outputs = {"run/evaluate.json"};
  return s;
}

// The report and the audit have no settings; their sections must be empty.
struct ReportConfig {
  void visit(ConfigVisitor&) {}
};

PipelineStage audit_pipeline_stage() {
  PipelineStage s;
  s.resolve = [](const StageContext& ctx) {
    auto cfg = load_config<ReportConfig>(ctx.config_file);
    return config_to_yaml(cfg);
  };
  s.run = [](const StageContext& ctx) {
    AuditPaths p;
    p.data_dir = pipeline_data_set(ctx);
    p.truth_dir = pipeline_truth_dir(ctx);
    p.detect_dir = ctx.stage_dirs.at("detect");
    p.repair_dir = ctx.stage_dirs.at("repair") + "/set";
    nlohmann::json r = run_audit(p);
    write_file_atomic(ctx.dir + "/audit.json", r.dump(2) + "\n");
    return nlohmann::json{{"truth", r["truth"]}};
  };
  s.outputs = {"audit.json"};
  return s;
}

PipelineStage report_pipeline_stage() {
  PipelineStage s;
  s.resolve = [](const StageContext& ctx) {
    auto cfg = load_config<ReportConfig>(ctx.config_file);
    return config_to_yaml(cfg);
  };
  s.run = [](const StageContext& ctx) {
    nlohmann::json r = write_report(ctx.run_dir);
    return nlohmann::json{{"report", ctx.run_dir + "/report.md"}, {"plots", r["plots"]}, {"plots_note", r["plots_note"]}};
  };
  s.outputs = {};
  return s;
}

PipelineStage simulate_pipeline_stage() {
  PipelineStage s;
  s.resolve = [](const StageContext& ctx) {
    auto cfg = load_simulate(ctx);
    return config_to_yaml(cfg);
  };
  s.run = [](const StageContext& ctx) {
    auto cfg = load_simulate(ctx);
    nlohmann::json r = run_simulate(cfg, pipeline_data_set(ctx));
    write_config(cfg, ctx.dir + "/simulate.yaml");  // the detector's injector reads the item clusters from it
    return r;
  };
  s.outputs = {"set/manifest.json", "set/clean/manifest.json", "set/repair_truth.tsv", "set.truth/manifest.json",
               "set.truth/repair_truth.tsv"};
  return s;
}

PipelineStage ingest_pipeline_stage() {
  PipelineStage s;
  s.resolve = [](const StageContext& ctx) {
    auto cfg = load_config<IngestOptions>(ctx.config_file);
    return config_to_yaml(cfg);
  };
  s.run = [](const StageContext& ctx) {
    auto cfg = load_config<IngestOptions>(ctx.config_file);
    nlohmann::json manifest = ingest_to_dir(cfg, pipeline_data_set(ctx), /*overwrite=*/true);
    return manifest.value("extra", nlohmann::json::object()).value("ingest", nlohmann::json::object());
  };
  s.outputs = {"set/manifest.json"};
  return s;
}

PipelineStage ingest_corrupt_pipeline_stage() {
  PipelineStage s;
  s.resolve = [](const StageContext& ctx) {
    auto ingest = load_config<IngestOptions>(ctx.config_file);
    auto corrupt = load_corrupt(ctx);
    return config_to_yaml(ingest) + "# corrupt:\n" + config_to_yaml(corrupt);
  };
  s.run = [](const StageContext& ctx) {
    auto ingest = load_config<IngestOptions>(ctx.config_file);
    auto corrupt = load_corrupt(ctx);
    // A simulate run in the same directory before would make finetune look for item clusters.
    fs::remove(ctx.dir + "/simulate.yaml");
    const std::string ingested = ctx.dir + "/ingest";
    nlohmann::json manifest = ingest_to_dir(ingest, ingested, /*overwrite=*/true);
    nlohmann::json summary = run_corrupt(corrupt, ingested, pipeline_data_set(ctx));
    // The ingested log is the clean truth of a hidden-truth run: it joins the rest of the truth.
    if (corrupt.hide_truth) {
      fs::remove_all(pipeline_truth_dir(ctx) + "/ingest");
      fs::rename(ingested, pipeline_truth_dir(ctx) + "/ingest");
    }
    return nlohmann::json{
        {"ingest", manifest.value("extra", nlohmann::json::object()).value("ingest", nlohmann::json::object())},
        {"corrupt", summary}};
  };
  s.outputs = {"set/manifest.json", "set/clean/manifest.json", "set/repair_truth.tsv", "set.truth/manifest.json",
               "set.truth/repair_truth.tsv"};
  return s;
}

PipelineStage pretrain_pipeline_stage() {
  PipelineStage s;
  s.all_ranks = true;
  s.resolve = [](const StageContext& ctx) {
    auto cfg = load_pretrain(ctx);
    return config_to_yaml(cfg);
  };
  s.run = [](const StageContext& ctx) {
    auto cfg = load_pretrain(ctx);
    cfg.validate();
    if (cfg.threads > 0) set_num_threads(int(cfg.threads));
    const bool resume = resume_or_clear(cfg.run_dir, ctx.resume, *ctx.group, "pretrain");
    RunDir run(cfg.run_dir, ctx.rank, ctx.world);
    ctx.group->check_all(true, "pretrain: creating " + cfg.run_dir);
    Trainer trainer(cfg, *ctx.group, &run);
    PretrainConfig resolved = trainer.config();
    run.write_config(resolved);
    run.write_run_info({{"stage", "pretrain"}, {"pipeline", ctx.run_dir}});
    TrainCheckpoints ckpts(trainer, run, *ctx.group, cfg.checkpoint);
    if (resume) ckpts.resume();
    ckpts.install();
    nlohmann::json results = trainer.run();
    ckpts.save_now();  // the encoder the detector starts from, or where a stopped run resumes
    return results;
  };
  s.outputs = {"run/results.json"};
  return s;
}

}  // namespace seqmend
