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

// ---- training ----

namespace {

std::vector<int32_t> simulator_clusters(const std::string& simulate_yaml) {
  if (simulate_yaml.empty()) return {};
  SimulatorConfig sc = load_config_section<SimulatorConfig>(simulate_yaml, "simulator");
  Simulator sim(sc);
  return sim.item_cluster();
}

}  // namespace

nlohmann::json run_finetune(FinetuneConfig& cfg, DataParallelGroup& group, RunDir* run) {
  cfg.validate();
  const bool rank0 = group.rank() == 0;
  ShardSet set = ShardSet::open(cfg.data_dir);

  // Encoder shape and weights.
  std::string enc_file;
  CanaryConfig canaries;  // the encoder's pretraining canaries, if any
  if (!cfg.encoder_checkpoint.empty()) {
    enc_file = resolve_encoder_checkpoint(cfg.encoder_checkpoint);
    try {
      check_checkpoint_file(enc_file);  // before anything is read beside it
    } catch (const Error& e) {
      SEQ_FAIL("finetune: encoder_checkpoint '", cfg.encoder_checkpoint, "': ", e.what());
    }
    cfg.model = model_config_from_run_config((fs::path(enc_file).parent_path() / "config.yaml").string());
    // Pretrain runs written before canaries existed have no such section: none.
    canaries = load_config_section<CanaryConfig>((fs::path(enc_file).parent_path() / "config.yaml").string(), "canaries",
                                               true);
  }
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
  uint32_t enc_crc = 0;
  if (!enc_file.empty()) enc_crc = load_encoder_checkpoint(det.encoder(), enc_file, cfg.encoder_best);

  DataParallelLoader loader(set, "train", group.rank(), group.size(), cfg.global_batch_size, cfg.seed,
                            det.encoder().config().max_len);
  // A clean set may carry an all-zero label column (the simulator's DIR/clean): stored labels count
  // only when some event or sequence is an anomaly.
  const int64_t anomalies = count_anomaly_labels(loader.data());  // every rank holds the whole split
  const bool stored = cfg.labels == "stored" || (cfg.labels == "auto" && anomalies > 0);
  SEQ_CHECK(!stored || anomalies > 0, "finetune: labels=stored but the train split of '", cfg.data_dir,
            "' has no anomaly labels (no label column, or all clean). HINT: labels=inject corrupts clean "
            "data on the fly");
  InjectionContext ctx;
  ctx.num_items = set.num_items();
  ctx.item_cluster = simulator_clusters(cfg.simulator_config);
  ctx.item_counts = set.item_counts();
  const SequenceSet& local = loader.data();
  Injector injector(local, cfg.inject, ctx);

  // The training loop of pretraining, with the detector's step (experiments/detect/detector_objective.h).
  DetectorObjective objective(cfg, det, loader, set, stored ? nullptr : &injector, group, enc_file,
                              gpu_encoder_group.get(), gpu_head_group.get());
  cfg = objective.config();  // optim.total_steps resolved
  const int64_t total = objective.total_steps();
  if (run) {
    run->write_config(cfg);
    run->write_run_info({{"stage", "finetune"}});
  }
  LoopConfig loop;
  loop.log_every = cfg.log_every;
  loop.write_results = false;  // after calibration, below
  Trainer trainer(objective, loop, group, run);
  std::unique_ptr<TrainCheckpoints> ckpts;
  if (run) {
    ckpts = std::make_unique<TrainCheckpoints>(trainer, *run, group, cfg.checkpoint);
    if (cfg.resume) ckpts->resume();
    ckpts->install();
  }
  const nlohmann::json trained = trainer.run();
  if (trained.value("stopped", false)) {
    if (ckpts) ckpts->save_now();  // the requeued job resumes from here
    return {{"steps", trained["steps"]}, {"stopped", true}};
  }
  const DetectorLoss last = objective.last_loss();

  nlohmann::json results = {{"steps", total},
                            {"train_seconds", trained["train_seconds"]},
                            {"labels", stored ? "stored" : "injected"},
                            {"final_loss", {{"total", last.total}, {"event", last.event}, {"gap", last.gap},
                                            {"sequence", last.sequence}}}};
  // Calibration on rank 0 (scoring the valid split is cheap next to training).
  if (rank0) {
    SequenceSet valid = load_split(set, cfg.valid_split);
    if (cfg.valid_max_sequences > 0 && valid.num_sequences() > cfg.valid_max_sequences) {
      SequenceSet cut;
      for (int64_t q = 0; q < cfg.valid_max_sequences; ++q) {
        const size_t e = size_t(valid.offsets[size_t(q)]);
        cut.append(valid.user[size_t(q)], valid.item.data() + e, valid.length(q),
                   valid.has_timestamps() ? valid.timestamp.data() + e : nullptr,
                   valid.has_actions() ? valid.action.data() + e : nullptr,
                   valid.has_labels() ? valid.label.data() + e : nullptr,
                   valid.seq_label.empty() ? int8_t(0) : valid.seq_label[size_t(q)]);
      }
      valid = std::move(cut);
    }
    const bool valid_stored = cfg.labels != "inject" && valid.has_labels();
    SequenceSet calib;
    if (valid_stored) {
      calib = std::move(valid);
    } else if (canaries.enabled && cfg.calibrate_on_canaries) {
      // The encoder saw these anomalies in pretraining as often as the log's own: positives that
      // score the way the log's noise does (experiments/train/canaries.h).
      calib = with_canaries(without_labels(std::move(valid)), canaries, set.num_items(), set.item_counts());
      results["valid_labels_from"] = "canaries";
    } else {
      SequenceSet clean = without_labels(std::move(valid));
      calib = Injector(clean, cfg.inject, ctx).run(cfg.valid_seed).data;
    }
    DetectorScores sc = detector_scores(det, calib);
    ScoreFusion fusion;
    if (cfg.fuse_surprisal && !enc_file.empty()) {
      // The same masked-item model `seqmend detect` takes the surprisal from.
      Bert4Rec lm(det.encoder().config(), dev);
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
    }
    HeadThresholds ht = calibrate_thresholds(sc, calib, cfg.thresholds);
    const Thresholds th = ht.thresholds();
    results["calibration"] = ht.to_json();
    results["valid"] = detection_report(sc, calib, th.event, th.gap, th.sequence);
    results["valid_labels"] = valid_stored ? "stored" : "injected";
    results["thresholds"] = th.to_json();
    if (run) {
      DetectorCheckpoint info;
      info.finetune_yaml = config_to_yaml(cfg);
      info.encoder_checkpoint = enc_file;
      info.encoder_crc32 = enc_crc;
      info.thresholds = th;
      info.calibration = ht.to_json();
      info.fusion = fusion;
      info.step = total;
      write_detector_checkpoint(run->file("detector.h5"), det, info);
      write_file_atomic(run->file("results.json"), results.dump(2) + "\n");
    }
    auto auc = [&](const char* head) {
      const auto& h = results["valid"][head];
      return h.contains("overall") && h["overall"]["roc_auc"].is_number() ? h["overall"]["roc_auc"].get<double>()
                                                                          : NAN;
    };
    std::printf("finetune: valid ROC-AUC event %.4f gap %.4f sequence %.4f; thresholds %s\n", auc("event"),
                auc("gap"), auc("sequence"), th.to_json().dump().c_str());
    std::fflush(stdout);
  }
  group.check_all(true, "finetune: calibration");  // no rank leaves while rank 0 still writes
  return results;
}

}  // namespace seqmend
