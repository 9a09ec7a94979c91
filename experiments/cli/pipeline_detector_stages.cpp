// The pipeline's adapters for the detector stages (experiments/cli/finetune_stage.h, detect_stage.h).
#include <filesystem>

#include "core/base/error.h"
#include "experiments/cli/detect_stage.h"
#include "experiments/run/dp_group.h"
#include "experiments/run/resume_or_clear.h"
#include "experiments/detect/finetune_config.h"
#include "experiments/cli/finetune_stage.h"
#include "experiments/cli/pipeline_stages.h"
#include "experiments/run/run_dir.h"
#include "kernels/threads.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

FinetuneConfig load_finetune(const StageContext& ctx) {
  auto cfg = load_config<FinetuneConfig>(ctx.config_file);
  SEQ_CHECK(cfg.data_dir.empty() && cfg.run_dir.empty() && cfg.encoder_checkpoint.empty() &&
                cfg.simulator_config.empty(),
            "run: ", ctx.config_file,
            ": finetune.data_dir, run_dir, encoder_checkpoint and simulator_config are set by the pipeline; remove them");
  cfg.data_dir = pipeline_data_set(ctx);
  // labels=inject draws fresh anomalies: on the clean copy (simulate, ingest + corrupt) when there is
  // one, so the anomalies already in data/set do not enter training labelled as clean events.
  const std::string clean = pipeline_data_set(ctx) + "/clean";
  if (cfg.labels == "inject" && fs::is_regular_file(clean + "/manifest.json")) cfg.data_dir = clean;
  cfg.run_dir = ctx.dir + "/run";
  cfg.encoder_checkpoint = ctx.stage_dirs.at("pretrain") + "/run";
  // Simulated data: noise clicks leave the user's interest clusters, as the simulator makes them.
  const std::string sim = ctx.stage_dirs.at("data") + "/simulate.yaml";
  if (fs::is_regular_file(sim) && fs::is_directory(pipeline_data_set(ctx) + "/clean")) cfg.simulator_config = sim;
  return cfg;
}

DetectConfig load_detect(const StageContext& ctx, const std::string& split) {
  auto cfg = load_config<DetectConfig>(ctx.config_file);
  SEQ_CHECK(cfg.data_dir.empty() && cfg.run_dir.empty() && cfg.detector_checkpoint.empty(), "run: ", ctx.config_file,
            ": detect.data_dir, run_dir and detector_checkpoint are set by the pipeline; remove them");
  cfg.data_dir = pipeline_data_set(ctx);
  cfg.split = split;
  cfg.detector_checkpoint = ctx.stage_dirs.at("finetune") + "/run/detector.h5";
  cfg.run_dir = ctx.dir + "/" + split;
  return cfg;
}

const char* const kSplits[] = {"train", "valid", "test"};

}  // namespace

PipelineStage finetune_pipeline_stage() {
  PipelineStage s;
  s.all_ranks = true;
  s.resolve = [](const StageContext& ctx) {
    auto cfg = load_finetune(ctx);
    return config_to_yaml(cfg);
  };
  s.run = [](const StageContext& ctx) {
    auto cfg = load_finetune(ctx);
    cfg.validate();
    if (cfg.threads > 0) set_num_threads(int(cfg.threads));
    cfg.resume = resume_or_clear(cfg.run_dir, ctx.resume, *ctx.group, "finetune");
    RunDir run(cfg.run_dir, ctx.rank, ctx.world);
    ctx.group->check_all(true, "finetune: creating " + cfg.run_dir);
    return run_finetune(cfg, *ctx.group, &run);  // stopped: {"steps", "stopped": true}, no detector.h5 yet
  };
  s.outputs = {"run/detector.h5"};
  return s;
}

PipelineStage detect_pipeline_stage() {
  PipelineStage s;
  s.all_ranks = true;  // run_detect is collective: every rank scores a share, rank 0 writes
  s.resolve = [](const StageContext& ctx) {
    std::string all;
    for (const char* split : kSplits) {
      auto cfg = load_detect(ctx, split);
      all += config_to_yaml(cfg);
    }
    return all;
  };
  s.run = [](const StageContext& ctx) {
    nlohmann::json out = nlohmann::json::object();
    for (const char* split : kSplits) {
      auto cfg = load_detect(ctx, split);
      cfg.validate();
      if (cfg.threads > 0) set_num_threads(int(cfg.threads));
      out[split] = run_detect(cfg, *ctx.group);
    }
    return out;
  };
  s.outputs = {"train/scores.h5", "valid/scores.h5", "test/scores.h5"};
  return s;
}

}  // namespace seqmend
