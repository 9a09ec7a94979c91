#include "experiments/cli/detect_stage.h"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "core/base/error.h"
#include "experiments/detect/detector_checkpoint.h"
#include "experiments/detect/detector_scores.h"
#include "experiments/run/device_choice.h"
#include "experiments/run/dp_group.h"
#include "experiments/run/owned_values.h"
#include "experiments/run/run_dir.h"
#include "io/atomic_file.h"
#include "io/config.h"
#include "io/shard_set.h"

namespace seqmend {

namespace fs = std::filesystem;

void DetectConfig::visit(ConfigVisitor& v) {
  v.field("data_dir", data_dir, "shard set to score");
  v.field("split", split, "split to score (train, valid, test, all, ...)");
  v.field("detector_checkpoint", detector_checkpoint, "detector.h5, or the finetune run directory holding it");
  v.field("run_dir", run_dir, "output directory (scores.h5, event_scores.csv, sequence_scores.csv, detection.json)");
  v.field("surprisal", surprisal, "also score the pretrained model's masked-item surprisal (no labels needed)");
  v.field("surprisal_passes", surprisal_passes,
          "interleaved masking passes per batch for the surprisal (a detector with score fusion uses its own)", 1,
          1024);
  v.field("batch_size", batch_size, "windows of max_len events per scoring batch", 1);
  v.field("device", device, "cpu | cuda: where the detector and the encoder's surprisal run");
  v.field("threads", threads, "OpenMP threads (0: SEQMEND_THREADS or default)", 0, 4096);
  v.field("write_csv", write_csv, "write event_scores.csv and sequence_scores.csv");
}

void DetectConfig::validate() const {
  SEQ_CHECK(device == "cpu" || device == "cuda", "detect: device `", device, "` is not cpu or cuda");
  SEQ_CHECK(!data_dir.empty(), "detect: data_dir is required. HINT: seqmend detect data_dir=DIR "
                               "detector_checkpoint=FINETUNE_RUN run_dir=OUT");
  SEQ_CHECK(!detector_checkpoint.empty(), "detect: detector_checkpoint is required");
  SEQ_CHECK(!run_dir.empty(), "detect: run_dir is required");
}

namespace {

void h5_check(herr_t rc, const std::string& path, const char* what) {
  SEQ_CHECK(rc >= 0, "detect: writing ", what, " to '", path, "' failed");
}

// Datasets carry no modification time, so the same scores give the same file bytes (detect on 1
// and N ranks, or run twice).
template <typename T>
void put(hid_t f, const std::string& path, const char* name, const std::vector<T>& v) {
  hsize_t n = v.size();
  const T* p = v.data();
  static const T zero{};
  if (!p) p = &zero;
  hid_t type = std::is_same_v<T, float> ? H5T_NATIVE_FLOAT : std::is_same_v<T, int32_t> ? H5T_NATIVE_INT32
                                                                                          : H5T_NATIVE_INT64;
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_obj_track_times(dcpl, false);
  const hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  herr_t rc = d >= 0 ? H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p) : -1;
  if (d >= 0 && H5Dclose(d) < 0) rc = -1;
  H5Pclose(dcpl);
  H5Sclose(space);
  h5_check(rc, path, name);
}

void write_scores_h5(const std::string& path, const SequenceSet& set, const DetectorScores& sc,
                     const std::vector<float>& surprisal, const DetectConfig& cfg, const Thresholds& th,
                     const HeadPrecision& expected) {
  AtomicFile af(path);
  hid_t f = H5Fcreate(af.temp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  SEQ_CHECK(f >= 0, "detect: cannot create '", af.temp_path(), "'");
  try {
    put(f, path, "offsets", set.offsets);
    put(f, path, "user", set.user);
    put(f, path, "item", set.item);
    put(f, path, "event_score", sc.event);
    put(f, path, "gap_score", sc.gap);
    put(f, path, "surprisal", surprisal);
    put(f, path, "sequence_score", sc.sequence);
    h5_check(H5LTset_attribute_string(f, "/", "split", cfg.split.c_str()), path, "split");
    h5_check(H5LTset_attribute_string(f, "/", "data_dir", cfg.data_dir.c_str()), path, "data_dir");
    h5_check(H5LTset_attribute_string(f, "/", "detector", cfg.detector_checkpoint.c_str()), path, "detector");
    for (auto [k, x] : {std::pair{"threshold_event", th.event}, std::pair{"threshold_gap", th.gap},
                        std::pair{"threshold_sequence", th.sequence}})
      h5_check(H5LTset_attribute_double(f, "/", k, &x, 1), path, k);
    // The calibration's expected precision of each head's flags (NaN = unknown): repair's floor.
    for (auto [k, x] : {std::pair{"expected_precision_event", expected.event},
                        std::pair{"expected_precision_gap", expected.gap},
                        std::pair{"expected_precision_sequence", expected.sequence}})
      h5_check(H5LTset_attribute_double(f, "/", k, &x, 1), path, k);
  } catch (...) {
    H5Fclose(f);
    throw;
  }
  SEQ_CHECK(H5Fclose(f) >= 0, "detect: closing '", af.temp_path(), "' failed");
  af.commit();
}

// CSV field: quoted when it holds a comma, quote or newline (original ids are free text).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

std::string fmt_float(float x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", double(x));
  return buf;
}

}  // namespace

nlohmann::json run_detect(DetectConfig& cfg, DataParallelGroup& group) {
  cfg.validate();
  nlohmann::json summary = nlohmann::json::object();
  // Every rank loads the split and the models and scores its share of the batches; rank 0 fuses
  // the merged scores and writes every file, so the outputs are the same bytes for any world size.
  const bool rank0 = group.rank() == 0;
  ShardSet set = ShardSet::open(cfg.data_dir);
  const Device dev = require_device(cfg.device, "detect");
  // Several ranks on GPUs: the NCCL group binds each to its node-local GPU before any model is made.
  std::unique_ptr<DataParallelGroup> gpu_binding;
  if (dev == Device::CUDA && group.size() > 1) gpu_binding = DataParallelGroup::world_gpu();
  LoadedDetector ld = load_detector(cfg.detector_checkpoint, dev);
  Detector& det = *ld.detector;
  SEQ_CHECK(det.encoder().config().num_items == set.num_items(), "detect: the detector was trained with ",
            det.encoder().config().num_items, " items, data_dir '", cfg.data_dir, "' has ", set.num_items());
  RunDir run(cfg.run_dir, group.rank(), group.size());
  run.write_config(cfg);
  run.write_run_info({{"stage", "detect"}, {"world_size", group.size()}});
  const SequenceSet data = load_split(set, cfg.split);
  DetectorScores sc = detector_scores(det, data, cfg.batch_size, &group);
  std::vector<float> surprisal(size_t(data.num_events()), 0.0f);
  const ScoreFusion& fusion = ld.info.fusion;
  if (cfg.surprisal || fusion.any()) {
    // The pretrained encoder's surprisal: the detector's encoder weights were fine-tuned, so the
    // masked-item model is the encoder checkpoint the detector came from, when it is still there.
    std::unique_ptr<ItemTransformer> lm;
    const std::string enc = ld.info.encoder_checkpoint;
    if (!enc.empty() && fs::exists(enc)) {
      lm = std::make_unique<ItemTransformer>(det.encoder().config(), dev);
      load_encoder_checkpoint(*lm, enc, true);
    }
    SEQ_CHECK(lm || !fusion.any(), "detect: detector '", cfg.detector_checkpoint,
              "' fuses its scores with the surprisal of encoder checkpoint '", enc,
              "', which does not exist any more");
    ItemTransformer& model = lm ? *lm : det.encoder();
    if (!lm && rank0)
      std::fprintf(stderr, "detect: encoder checkpoint '%s' not found; surprisal from the detector's encoder\n",
                   enc.c_str());
    const int passes = fusion.any() ? fusion.features.surprisal_passes : int(cfg.surprisal_passes);
    SurprisalResult sr = event_surprisal(model, data, {passes, cfg.batch_size, &group});
    surprisal = std::move(sr.surprisal);
    summary["surprisal_forward_passes"] = sr.forward_passes;
  }
  if (rank0) {
    // The thresholds were calibrated on fused scores (experiments/detect/score_fusion.h).
    if (fusion.any())
      fusion.apply(sc, fusion_inputs(data, surprisal, fusion.features, det.encoder().config().num_items));
    const Thresholds th = ld.info.thresholds;
    const HeadPrecision expected = HeadPrecision::from_calibration(ld.info.calibration);
    write_scores_h5(run.file("scores.h5"), data, sc, surprisal, cfg, th, expected);

    if (cfg.write_csv) {
      const auto& uid = set.user_ids();
      const auto& iid = set.item_ids();
      auto user_name = [&](int64_t u) { return u >= 0 && size_t(u) < uid.size() ? csv_field(uid[size_t(u)]) : std::to_string(u); };
      auto item_name = [&](int32_t i) { return i >= 1 && size_t(i) <= iid.size() ? csv_field(iid[size_t(i) - 1]) : std::to_string(i); };
      std::string ev = "user,position,item,timestamp,score,gap_score,surprisal\n";
      std::string sq = "user,score\n";
      for (int64_t q = 0; q < data.num_sequences(); ++q) {
        const std::string u = user_name(data.user[size_t(q)]);
        const int64_t e0 = data.offsets[size_t(q)];
        for (int64_t j = 0; j < data.length(q); ++j) {
          const size_t e = size_t(e0 + j);
          ev += u;
          ev += ',' + std::to_string(j) + ',' + item_name(data.item[e]) + ',';
          if (data.has_timestamps()) ev += std::to_string(data.timestamp[e]);
          ev += ',' + fmt_float(sc.event[e]) + ',' + fmt_float(sc.gap[e]) + ',' + fmt_float(surprisal[e]) + '\n';
        }
        sq += u + ',' + fmt_float(sc.sequence[size_t(q)]) + '\n';
      }
      write_file_atomic(run.file("event_scores.csv"), ev);
      write_file_atomic(run.file("sequence_scores.csv"), sq);
    }

    summary["split"] = cfg.split;
    summary["sequences"] = data.num_sequences();
    summary["events"] = data.num_events();
    summary["thresholds"] = th.to_json();
    summary["expected_precision"] = expected.to_json();
    if (data.has_labels()) {
      nlohmann::json det_json = detection_report(sc, data, th.event, th.gap, th.sequence);
      if (cfg.surprisal || fusion.any()) {
        // The unsupervised baseline on the event and gap heads' label splits; no threshold of its own.
        DetectorScores base;
        base.event = surprisal;
        base.gap = surprisal;
        const double inf = std::numeric_limits<double>::infinity();
        nlohmann::json b = detection_report(base, data, inf, inf, inf);
        det_json["surprisal"] = {{"event", b["event"]}, {"gap", b["gap"]}};
      }
      write_file_atomic(run.file("detection.json"), det_json.dump(2) + "\n");
      summary["detection"] = det_json;
    }
    std::printf("detect: %lld sequences, %lld events of %s scored into %s\n", (long long)data.num_sequences(),
                (long long)data.num_events(), cfg.split.c_str(), cfg.run_dir.c_str());
    std::fflush(stdout);
  }
  group.check_all(true, "detect");
  return summary;
}

}  // namespace seqmend
