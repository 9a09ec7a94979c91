#include "experiments/cli/finetune_stage.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/run/checkpoint.h"
#include "experiments/train/data_parallel_loader.h"
#include "experiments/train/canaries.h"
#include "experiments/detect/detector_checkpoint.h"
#include "experiments/detect/detector_objective.h"
#include "experiments/detect/detector_scores.h"
#include "experiments/detect/noise_kind.h"
#include "experiments/run/device_choice.h"
#include "experiments/run/dp_group.h"
#include "experiments/run/run_dir.h"
#include "experiments/cli/simulate_stage.h"
#include "experiments/detect/surprisal.h"
#include "experiments/train/train_checkpoint.h"
#include "experiments/train/trainer.h"
#include "io/atomic_file.h"
#include "io/config.h"
#include "io/file_checksum.h"
#include "io/shard_set.h"
#include "io/simulator.h"

namespace seqmend {

namespace fs = std::filesystem;

namespace {

std::vector<int32_t> simulator_clusters(const std::string& simulate_yaml) {
  if (simulate_yaml.empty()) return {};
  SimulatorConfig sc = load_config_section<SimulatorConfig>(simulate_yaml, "simulator");
  Simulator sim(sc);
  return sim.item_cluster();
}

// The pretrained encoder a run starts from (no file: from scratch).
struct EncoderSource {
  std::string file;
  CanaryConfig canaries;  // the encoder's pretraining canaries, if any
  uint32_t crc32 = 0;     // of the file as loaded; recorded in detector.h5
};

// Resolves cfg.encoder_checkpoint and takes the model's shape from its run's config.yaml.
EncoderSource encoder_source(FinetuneConfig& cfg) {
  EncoderSource enc;
  if (cfg.encoder_checkpoint.empty()) return enc;
  enc.file = resolve_encoder_checkpoint(cfg.encoder_checkpoint);
  try {
    check_checkpoint_file(enc.file);  // before anything is read beside it
  } catch (const Error& e) {
    SEQ_FAIL("finetune: encoder_checkpoint '", cfg.encoder_checkpoint, "': ", e.what());
  }
  const std::string run_config = (fs::path(enc.file).parent_path() / "config.yaml").string();
  cfg.model = model_config_from_run_config(run_config);
  // Pretrain runs written before canaries existed have no such section: none.
  enc.canaries = load_config_section<CanaryConfig>(run_config, "canaries", true);
  return enc;
}

// A clean set may carry an all-zero label column (the simulator's DIR/clean): stored labels count
// only when some event or sequence is an anomaly.
bool train_on_stored_labels(const FinetuneConfig& cfg, const SequenceSet& train) {
  const int64_t anomalies = count_anomaly_labels(train);
  const bool stored = cfg.labels == "stored" || (cfg.labels == "auto" && anomalies > 0);
  SEQ_CHECK(!stored || anomalies > 0, "finetune: labels=stored but the train split of '", cfg.data_dir,
            "' has no anomaly labels (no label column, or all clean). HINT: labels=inject corrupts clean "
            "data on the fly");
  return stored;
}

// The training loop of pretraining with the detector's step, checkpoints and --resume. Sets `cfg`
// to the objective's (optim.total_steps resolved); a run ended by a stop signal is saved where it
// stopped, for the requeued job to resume from.
nlohmann::json train_detector(FinetuneConfig& cfg, DetectorObjective& objective, DataParallelGroup& group,
                              RunDir* run) {
  cfg = objective.config();
  if (run) {
    run->write_config(cfg);
    run->write_run_info({{"stage", "finetune"}});
  }
  LoopConfig loop;
  loop.log_every = cfg.log_every;
  loop.write_results = false;  // after calibration
  Trainer trainer(objective, loop, group, run);
  std::unique_ptr<TrainCheckpoints> ckpts;
  if (run) {
    ckpts = std::make_unique<TrainCheckpoints>(trainer, *run, group, cfg.checkpoint);
    if (cfg.resume) ckpts->resume();
    ckpts->install();
  }
  nlohmann::json trained = trainer.run();
  if (trained.value("stopped", false) && ckpts) ckpts->save_now();
  return trained;
}

// The first `max` sequences of `valid` (all of them when max is 0).
SequenceSet first_sequences(SequenceSet valid, int64_t max) {
  if (max <= 0 || valid.num_sequences() <= max) return valid;
  SequenceSet cut;
  for (int64_t q = 0; q < max; ++q) cut.append_from(valid, q);
  return cut;
}

// What the thresholds are calibrated on: the valid split with its stored labels, or the train split
// with the encoder's canaries, or the valid split with anomalies injected under valid_seed
// (`noise_items`: how the injected items were drawn, "" for stored labels). `results` records which.
struct CalibrationData {
  SequenceSet set;
  std::string noise_items;
};

CalibrationData calibration_set(const FinetuneConfig& cfg, const ShardSet& set, const CanaryConfig& canaries,
                                const InjectionContext& ctx, nlohmann::json& results) {
  auto load = [&](const std::string& split) {
    results["calibration_split"] = split;
    return first_sequences(load_split(set, split), cfg.valid_max_sequences);
  };
  const bool on_canaries = canaries.enabled && cfg.calibrate_on_canaries;
  // The valid split is read when it may hold stored labels or takes fresh injections, not only to
  // be replaced by the canaries' split.
  SequenceSet valid;
  if (cfg.labels != "inject" || !on_canaries) valid = load(cfg.valid_split);
  const bool valid_stored = cfg.labels != "inject" && valid.has_labels();
  results["valid_labels"] = valid_stored ? "stored" : "injected";
  if (valid_stored) return {std::move(valid), ""};
  if (on_canaries) {
    // The encoder saw these anomalies in pretraining as often as the log's own: positives that
    // score the way the log's noise does, in the pretraining copy only (experiments/train/canaries.h).
    results["valid_labels_from"] = "canaries";
    return {with_canaries(without_labels(load(kCanarySplit)), canaries, set.num_items(), set.item_counts()),
            canaries.inject.noise_items};
  }
  SequenceSet clean = without_labels(std::move(valid));
  return {Injector(clean, cfg.inject, ctx).run(cfg.valid_seed).data, cfg.inject.noise_items};
}

// log_precision on injections drawn `mixed`: they stand for the log's own noise in the mixture of
// kinds its flagged events suggest (experiments/detect/noise_kind.h); `record` gets the estimate.
// Empty (and `record` untouched): even weights.
std::vector<float> noise_kind_weights(const FinetuneConfig& cfg, const CalibrationData& calib,
                                      const DetectorScores& sc, const ShardSet& set, nlohmann::json& record) {
  const ThresholdConfig& tc = cfg.thresholds;
  if (tc.method_for(tc.event_method) != "log_precision" || !tc.estimate_noise_kind || calib.noise_items != "mixed" ||
      sc.event.empty())
    return {};
  const HeadItems head = head_items(calib.set.label, event_head_codes());
  std::vector<int32_t> items;
  items.reserve(head.index.size());
  for (size_t e : head.index) items.push_back(calib.set.item[e]);
  const NoiseKindEstimate k = estimate_noise_kind(head.scores_of(sc.event), head.positive, items, set.item_counts());
  record = k.to_json();
  std::printf("finetune: the log's own noise looks %.2f uniform, %.2f popularity-drawn (flagged at the %.0f %% "
              "anchor: %lld of the log's events, mean log count %.2f; injected uniform %.2f, popularity %.2f)%s\n",
              k.uniform_share, 1 - k.uniform_share, 100 * k.anchor, (long long)k.flagged_log, k.log_count_log,
              k.log_count_uniform, k.log_count_popularity, k.informative ? "" : "; no evidence, even odds kept");
  std::fflush(stdout);
  return kind_weights(calib.set.item, set.item_counts(), k.uniform_share);
}

// With fuse_surprisal and an encoder: fits the fusion of the heads' scores with the encoder's
// surprisal (and co-occurrence and timing) on the calibration set and applies it to `sc`; the heads'
// report before fusion goes to results["valid_heads_alone"]. Otherwise no fusion.
ScoreFusion fuse_surprisal(const FinetuneConfig& cfg, Detector& det, const std::string& enc_file,
                           const SequenceSet& calib, DetectorScores& sc, nlohmann::json& results) {
  ScoreFusion fusion;
  if (!cfg.fuse_surprisal || enc_file.empty()) return fusion;
  // The same masked-item model `seqmend detect` takes the surprisal from.
  ItemTransformer lm(det.encoder().config(), det.device());
  load_encoder_checkpoint(lm, enc_file, true);
  const SurprisalResult sr = event_surprisal(lm, calib, {int(cfg.surprisal_passes), 128});
  results["valid_heads_alone"] = detection_report(sc, calib, INFINITY, INFINITY, INFINITY);
  // Counted over the calibration log itself, as detect counts over the split it scores.
  fusion.features = {int(cfg.surprisal_passes), cfg.fuse_cooccurrence, cfg.fuse_time};
  const FusionInputs in = fusion_inputs(calib, sr.surprisal, fusion.features, det.encoder().config().num_items);
  fusion.event = fit_fusion(sc.event, in, calib.label, event_head_codes());
  fusion.gap = fit_fusion(sc.gap, in, calib.label, gap_head_codes());
  fusion.apply(sc, in);
  results["fusion"] = fusion.to_json();
  return fusion;
}

void print_valid_auc(const nlohmann::json& results, const Thresholds& th) {
  auto auc = [&](const char* head) {
    const auto& h = results["valid"][head];
    return h.contains("overall") && h["overall"]["roc_auc"].is_number() ? h["overall"]["roc_auc"].get<double>()
                                                                        : NAN;
  };
  std::printf("finetune: valid ROC-AUC event %.4f gap %.4f sequence %.4f; thresholds %s\n", auc("event"),
              auc("gap"), auc("sequence"), th.to_json().dump().c_str());
  std::fflush(stdout);
}

// Rank 0 after training (scoring the valid split is cheap next to training): scores the calibration
// set, fits the fusion and one threshold per head, writes detector.h5 and results.json.
void calibrate(FinetuneConfig& cfg, Detector& det, const EncoderSource& enc, const ShardSet& set,
               const InjectionContext& ctx, int64_t step, RunDir* run, nlohmann::json& results) {
  const CalibrationData cd = calibration_set(cfg, set, enc.canaries, ctx, results);
  const SequenceSet& calib = cd.set;
  DetectorScores sc = detector_scores(det, calib);
  const ScoreFusion fusion = fuse_surprisal(cfg, det, enc.file, calib, sc, results);
  nlohmann::json noise_kind;
  const std::vector<float> weights = noise_kind_weights(cfg, cd, sc, set, noise_kind);
  HeadThresholds ht = calibrate_thresholds(sc, calib, cfg.thresholds, weights);
  const Thresholds th = ht.thresholds();
  nlohmann::json calibration = ht.to_json();
  if (!noise_kind.is_null()) calibration["noise_kind"] = noise_kind;
  results["calibration"] = calibration;
  results["valid"] = detection_report(sc, calib, th.event, th.gap, th.sequence);
  results["thresholds"] = th.to_json();
  if (run) {
    DetectorCheckpoint info;
    info.finetune_yaml = config_to_yaml(cfg);
    info.encoder_checkpoint = enc.file;
    info.encoder_crc32 = enc.crc32;
    info.thresholds = th;
    info.calibration = calibration;
    info.fusion = fusion;
    info.step = step;
    write_detector_checkpoint(run->file("detector.h5"), det, info);
    write_file_atomic(run->file("results.json"), results.dump(2) + "\n");
  }
  print_valid_auc(results, th);
}

}  // namespace

nlohmann::json run_finetune(FinetuneConfig& cfg, DataParallelGroup& group, RunDir* run) {
  cfg.validate();
  ShardSet set = ShardSet::open(cfg.data_dir);
  EncoderSource enc = encoder_source(cfg);
  cfg.model.require_cloze("finetune");
  if (cfg.model.num_items == 0) cfg.model.num_items = set.num_items();
  SEQ_CHECK(cfg.model.num_items == set.num_items(), "finetune: the encoder has num_items ", cfg.model.num_items,
            " but data_dir '", cfg.data_dir, "' has ", set.num_items(), " items");
  // On the GPU, the gradient groups first: they bind this rank to its GPU, where the detector lives.
  const Device dev = require_device(cfg.device, "finetune");
  std::unique_ptr<DataParallelGroup> gpu_encoder_group, gpu_head_group;
  if (dev == Device::CUDA && group.size() > 1) {
    gpu_encoder_group = DataParallelGroup::world_gpu();
    gpu_head_group = DataParallelGroup::world_gpu();
  }
  Detector det(cfg.model, cfg.detector, dev);
  if (!enc.file.empty()) enc.crc32 = load_encoder_checkpoint(det.encoder(), enc.file, cfg.encoder_best);

  DataParallelLoader loader(set, "train", group.rank(), group.size(), cfg.global_batch_size, cfg.seed,
                            det.encoder().config().max_len);
  const bool stored = train_on_stored_labels(cfg, loader.data());  // every rank holds the whole split
  InjectionContext ctx;
  ctx.num_items = set.num_items();
  ctx.item_cluster = simulator_clusters(cfg.simulator_config);
  ctx.item_counts = set.item_counts();
  Injector injector(loader.data(), cfg.inject, ctx);

  DetectorObjective objective(cfg, det, loader, set, stored ? nullptr : &injector, group, enc.file,
                              gpu_encoder_group.get(), gpu_head_group.get());
  const nlohmann::json trained = train_detector(cfg, objective, group, run);
  if (trained.value("stopped", false)) return {{"steps", trained["steps"]}, {"stopped", true}};
  const int64_t total = objective.total_steps();
  const DetectorLoss last = objective.last_loss();
  nlohmann::json results = {{"steps", total},
                            {"train_seconds", trained["train_seconds"]},
                            {"labels", stored ? "stored" : "injected"},
                            {"final_loss", {{"total", last.total}, {"event", last.event}, {"gap", last.gap},
                                            {"sequence", last.sequence}}}};
  if (group.rank() == 0) calibrate(cfg, det, enc, set, ctx, total, run, results);
  group.check_all(true, "finetune: calibration");  // no rank leaves while rank 0 still writes
  return results;
}

}  // namespace seqmend
