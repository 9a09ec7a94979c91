#include "experiments/cli/finetune_stage.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/adamw_optimizer.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/run/checkpoint.h"
#include "experiments/train/data_parallel_loader.h"
#include "experiments/train/canaries.h"
#include "experiments/detect/detector_checkpoint.h"
#include "experiments/detect/detector_scores.h"
#include "experiments/run/dp_group.h"
#include "experiments/run/run_dir.h"
#include "experiments/cli/simulate_stage.h"
#include "experiments/detect/surprisal.h"
#include "experiments/train/token_deal.h"
#include "io/atomic_file.h"
#include "io/config.h"
#include "io/file_checksum.h"
#include "io/shard_set.h"
#include "io/simulator.h"

namespace seqmend {

namespace fs = std::filesystem;

// ---- training ----

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

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
  Detector det(cfg.model, cfg.detector);
  uint32_t enc_crc = 0;
  if (!enc_file.empty()) enc_crc = load_encoder_checkpoint(det.encoder(), enc_file, cfg.encoder_best);

  DataParallelLoader loader(set, "train", group.rank(), group.size(), cfg.global_batch_size, cfg.seed,
                            det.encoder().config().max_len);
  const int64_t bpe = loader.batches_per_epoch();
  int64_t total = cfg.max_steps > 0 ? cfg.max_steps : cfg.epochs * bpe;
  if (cfg.max_steps > 0 && cfg.epochs > 0) total = std::min(cfg.max_steps, cfg.epochs * bpe);
  if (cfg.optim.total_steps == 0) cfg.optim.total_steps = total;
  // A clean set may carry an all-zero label column (the simulator's DIR/clean): stored labels count
  // only when some event or sequence is an anomaly.
  const int64_t anomalies = count_anomaly_labels(loader.data());  // every rank holds the whole split
  const bool stored = cfg.labels == "stored" || (cfg.labels == "auto" && anomalies > 0);
  SEQ_CHECK(!stored || anomalies > 0, "finetune: labels=stored but the train split of '", cfg.data_dir,
            "' has no anomaly labels (no label column, or all clean). HINT: labels=inject corrupts clean "
            "data on the fly");
  if (run) {
    run->write_config(cfg);
    run->write_run_info({{"stage", "finetune"}});
  }

  InjectionContext ctx;
  ctx.num_items = set.num_items();
  ctx.item_cluster = simulator_clusters(cfg.simulator_config);
  ctx.item_counts = set.item_counts();
  const SequenceSet& local = loader.data();
  Injector injector(local, cfg.inject, ctx);

  std::unique_ptr<AdamWOptimizer> enc_opt;
  if (!cfg.detector.freeze_encoder) enc_opt = std::make_unique<AdamWOptimizer>(det.encoder().params(), cfg.optim);
  AdamWOptimizer head_opt(det.heads().params(), cfg.optim);
  const bool dp = group.size() > 1;
  std::unique_ptr<DataParallelGroup> head_group;
  if (dp) {
    if (enc_opt)
      group.bind_gradients(det.encoder().params().grads().data<float>(),
                           size_t(det.encoder().params().numel()), cfg.bucket_mb);
    head_group = std::make_unique<DataParallelGroup>(group.comm());
    head_group->bind_gradients(det.heads().params().grads().data<float>(), size_t(det.heads().params().numel()),
                               cfg.bucket_mb);
  }
  if (rank0)
    std::printf("finetune: %lld train sequences, %lld ranks, global batch %lld, %lld steps/epoch, %lld steps, "
                "labels %s, encoder %s%s\n",
                (long long)loader.num_samples(), (long long)group.size(), (long long)cfg.global_batch_size,
                (long long)bpe, (long long)total, stored ? "stored" : "injected",
                enc_file.empty() ? "random init" : enc_file.c_str(), cfg.detector.freeze_encoder ? " (frozen)" : "");

  double t_train = 0, win_loss[4] = {0, 0, 0, 0};
  int64_t win_steps = 0, win_seqs = 0;
  double win_s = 0;
  DetectorLoss last;
  for (int64_t step = 0; step < total; ++step) {
    const double t0 = now_s();
    const int64_t epoch = step / bpe, index = step % bpe;
    // Every rank builds and injects the whole global batch (the injection is a function of the
    // batch and the step, e.g. llround(bot_rate · batch) bots), then trains on its deal of the
    // result: the same step on any number of ranks.
    const std::vector<int64_t> ids = loader.global_batch_ids(epoch, index);
    SequenceSet part;
    for (int64_t q : ids) {  // sample id = row of the loader's data
      const size_t e = size_t(local.offsets[size_t(q)]);
      const int64_t n = local.length(q);
      part.append(local.user[size_t(q)], local.item.data() + e, n,
                  local.has_timestamps() ? local.timestamp.data() + e : nullptr,
                  local.has_actions() ? local.action.data() + e : nullptr,
                  local.has_labels() ? local.label.data() + e : nullptr,
                  local.seq_label.empty() ? int8_t(0) : local.seq_label[size_t(q)]);
    }
    SequenceSet data;
    if (stored) {
      data = std::move(part);
    } else if (part.num_sequences() > 0) {
      data = injector.run(without_labels(part), hash_combine(cfg.seed, hash_combine(uint64_t(epoch), uint64_t(index))), 1)
                 .data;
    }
    std::vector<int64_t> cost;
    for (int64_t s = 0; s < data.num_sequences(); ++s)
      cost.push_back(std::min<int64_t>(data.length(s), det.encoder().config().max_len));
    const std::vector<int> dealt_to = deal_by_tokens(cost, group.size());
    std::vector<SequenceView> views;
    std::vector<int64_t> seqs;
    for (int64_t s = 0; s < data.num_sequences(); ++s) {
      if (dealt_to[size_t(s)] != group.rank()) continue;
      const size_t e = size_t(data.offsets[size_t(s)]), n = size_t(data.length(s));
      SequenceView v;
      v.items = std::span<const int32_t>(data.item).subspan(e, n);
      if (data.has_timestamps()) v.timestamps = std::span<const int64_t>(data.timestamp).subspan(e, n);
      if (data.has_actions()) v.actions = std::span<const int8_t>(data.action).subspan(e, n);
      v.sample_id = int64_t(hash_combine(uint64_t(step), uint64_t(s)) >> 1);
      views.push_back(v);
      seqs.push_back(s);
    }
    Batch b = make_plain_batch(views, cfg.model);
    DetectorTargets y = detector_targets(b, data, seqs);
    if (cfg.drop_top_negatives > 0 && b.B > 0) {
      // The current scores, without dropout, pick the negatives left out of this step's loss.
      std::vector<float> pe(size_t(b.N)), pg(size_t(b.N));
      det.score(b, pe.data(), pg.data(), nullptr);
      drop_top_negatives(y.event_y, y.event_w, pe, cfg.drop_top_negatives);
      drop_top_negatives(y.gap_y, y.gap_w, pg, cfg.drop_top_negatives);
    }
    double counts[3] = {y.event_count(), y.gap_count(), y.seq_count()};
    if (dp) group.sum_ordered(counts, 3);
    det.encoder().params().zero_grads();
    det.heads().params().zero_grads();
    DetectorLoss L;
    if (b.B > 0) {
      DetectorForward fw;
      fw.train = true;
      fw.dropout_seed = hash_combine(cfg.seed, uint64_t(step));
      // The gradient all-reduce averages over ranks (GradBucketer), so each rank divides by the
      // global count / world: the average of the rank gradients is then the global-batch mean.
      const double world = double(group.size());
      fw.event_denominator = std::max(counts[0], 1.0) / world;
      fw.gap_denominator = std::max(counts[1], 1.0) / world;
      fw.seq_denominator = std::max(counts[2], 1.0) / world;
      L = det.forward(b, y, fw);
      det.backward(b);
    }
    if (dp) {
      if (enc_opt) {
        group.mark_ready(0, size_t(det.encoder().params().numel()));
        group.finish();
      }
      head_group->mark_ready(0, size_t(det.heads().params().numel()));
      head_group->finish();
      double parts[4] = {L.total, L.event, L.gap, L.sequence};
      group.sum_ordered(parts, 4);
      const double world = double(group.size());
      L = {parts[0] / world, parts[1] / world, parts[2] / world, parts[3] / world};
    }
    OptimizerStats os = head_opt.step(step);
    if (enc_opt) enc_opt->step(step);
    const double dt = now_s() - t0;
    t_train += dt;
    win_s += dt;
    win_loss[0] += L.total;
    win_loss[1] += L.event;
    win_loss[2] += L.gap;
    win_loss[3] += L.sequence;
    ++win_steps;
    win_seqs += int64_t(seqs.size());
    last = L;
    const int64_t s = step + 1;
    if (s % cfg.log_every == 0 || s == total) {
      const double k = double(win_steps);
      if (run)
        run->append_metrics({{"step", s}, {"epoch", double(s) / double(bpe)}, {"loss", win_loss[0] / k},
                             {"loss_event", win_loss[1] / k}, {"loss_gap", win_loss[2] / k},
                             {"loss_sequence", win_loss[3] / k}, {"lr", os.lr}, {"head_grad_norm", os.grad_norm},
                             {"sequences_per_s", double(win_seqs) / win_s}});
      if (rank0) {
        std::printf("finetune step %lld/%lld epoch %.2f loss %.4f (event %.4f gap %.4f seq %.4f) lr %.3g "
                    "seq/s %.0f\n",
                    (long long)s, (long long)total, double(s) / double(bpe), win_loss[0] / k, win_loss[1] / k,
                    win_loss[2] / k, win_loss[3] / k, os.lr, double(win_seqs) / win_s);
        std::fflush(stdout);
      }
      win_loss[0] = win_loss[1] = win_loss[2] = win_loss[3] = 0;
      win_steps = win_seqs = 0;
      win_s = 0;
    }
  }

  nlohmann::json results = {{"steps", total}, {"train_seconds", t_train}, {"labels", stored ? "stored" : "injected"},
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
      Bert4Rec lm(det.encoder().config());
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
