#include "experiments/cli/repair_stage.h"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>

#include "core/base/error.h"
#include "experiments/run/dp_group.h"
#include "experiments/repair/model_predictor.h"
#include "experiments/repair/precision_floor.h"
#include "experiments/repair/repair_shard_set.h"
#include "experiments/repair/shared_predictor.h"
#include "experiments/repair/repair_stats.h"
#include "io/file_checksum.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

std::vector<float> read_float_1d(hid_t f, const char* name, const std::string& path) {
  hsize_t dims[1] = {0};
  H5T_class_t cls;
  size_t size = 0;
  int rank = 0;
  SEQ_CHECK(H5LTget_dataset_ndims(f, name, &rank) >= 0 && rank == 1, "repair: ", path, ": dataset '", name,
            "' missing or not 1-D");
  SEQ_CHECK(H5LTget_dataset_info(f, name, dims, &cls, &size) >= 0, "repair: ", path, ": cannot read '", name, "'");
  std::vector<float> out(dims[0]);
  if (!out.empty())
    SEQ_CHECK(H5LTread_dataset_float(f, name, out.data()) >= 0, "repair: ", path, ": reading '", name, "' failed");
  return out;
}

double read_threshold(hid_t f, const char* name, const std::string& path) {
  double x = 0;
  SEQ_CHECK(H5LTget_attribute_double(f, "/", name, &x) >= 0, "repair: ", path, ": attribute '", name, "' missing");
  return x;
}

// An attribute a file may lack (written before it was kept): NaN then.
double read_optional_double(hid_t f, const char* name) {
  double x = std::numeric_limits<double>::quiet_NaN();
  if (H5Aexists(f, name) > 0 && H5LTget_attribute_double(f, "/", name, &x) < 0)
    x = std::numeric_limits<double>::quiet_NaN();
  return x;
}

}  // namespace

ScoresFile read_scores_h5(const std::string& path) {
  SEQ_CHECK(fs::is_regular_file(path), "repair: scores file '", path, "' does not exist");
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  SEQ_CHECK(f >= 0, "repair: cannot open scores file '", path, "' as HDF5");
  ScoresFile out;
  try {
    out.scores.event = read_float_1d(f, "event_score", path);
    out.scores.gap = read_float_1d(f, "gap_score", path);
    out.scores.sequence = read_float_1d(f, "sequence_score", path);
    out.num_sequences = int64_t(out.scores.sequence.size());
    if (H5LTfind_dataset(f, "surprisal") > 0) out.surprisal = read_float_1d(f, "surprisal", path);
    out.thresholds.event = read_threshold(f, "threshold_event", path);
    out.thresholds.gap = read_threshold(f, "threshold_gap", path);
    out.thresholds.sequence = read_threshold(f, "threshold_sequence", path);
    out.expected = {read_optional_double(f, "expected_precision_event"), read_optional_double(f, "expected_precision_gap"),
                    read_optional_double(f, "expected_precision_sequence")};
    hsize_t dims = 0;
    H5T_class_t cls;
    size_t size = 0;
    if (H5LTget_attribute_info(f, "/", "split", &dims, &cls, &size) >= 0 && size > 0) {
      std::string s(size, '\0');
      if (H5LTget_attribute_string(f, "/", "split", s.data()) >= 0) out.split = s.c_str();
    }
  } catch (...) {
    H5Fclose(f);
    throw;
  }
  H5Fclose(f);
  SEQ_CHECK(out.scores.event.size() == out.scores.gap.size(), "repair: ", path, ": event_score has ",
            out.scores.event.size(), " values but gap_score ", out.scores.gap.size());
  return out;
}


nlohmann::json run_repair(RepairStageConfig& cfg, DataParallelGroup* group) {
  SEQ_CHECK(!cfg.data_dir.empty(), "repair: data_dir is required");
  SEQ_CHECK(!cfg.out_dir.empty(), "repair: out_dir is required");
  std::map<std::string, DetectorScores> scores;
  RepairProvenance prov;
  HeadPrecision expected;
  bool have_thresholds = false;
  const std::pair<const char*, std::string*> files[] = {
      {"train", &cfg.scores_train}, {"valid", &cfg.scores_valid}, {"test", &cfg.scores_test}};
  nlohmann::json sources = nlohmann::json::object();
  for (const auto& [split, path] : files) {
    if (path->empty()) continue;
    ScoresFile sf = read_scores_h5(*path);
    SEQ_CHECK(sf.split.empty() || sf.split == split, "repair: scores_", split, " = '", *path,
              "' holds scores of split '", sf.split, "'");
    if (!have_thresholds) {
      prov.thresholds = sf.thresholds;
      expected = sf.expected;
      have_thresholds = true;
    } else {
      // As JSON: +inf thresholds and unknown (NaN) precisions are null there, so they compare equal.
      SEQ_CHECK(sf.thresholds.to_json() == prov.thresholds.to_json() && sf.expected.to_json() == expected.to_json(),
                "repair: ", *path, ": thresholds differ from the first scores file's (", prov.thresholds.to_json().dump(),
                " vs ", sf.thresholds.to_json().dump(), "): the splits were scored by different detectors");
    }
    sources[split] = {{"file", *path}, {"crc32", file_crc32(*path)}};
    scores[split] = std::move(sf.scores);
  }
  SEQ_CHECK(!scores.empty(), "repair: no scores given (scores_train, scores_valid, scores_test are all empty)");

  RepairConfig rc = cfg.repair;
  const nlohmann::json floor = apply_precision_floor(expected, rc);
  if (const std::string said = precision_floor_summary(floor); !said.empty() && (!group || group->rank() == 0)) {
    std::printf("repair: no edit under %.2f expected precision (repair.min_expected_precision): %s\n",
                rc.min_expected_precision, said.c_str());
    std::fflush(stdout);
  }
  Predictor predictor;
  std::string used = cfg.predictor;
  SEQ_CHECK(cfg.predictor != "model" || !cfg.encoder_checkpoint.empty(), "repair: predictor=model needs encoder_checkpoint");
  // auto: the model when there is an encoder to load — and an edit kind left that asks it.
  const bool model = cfg.predictor == "model" || (cfg.predictor == "auto" && !cfg.encoder_checkpoint.empty());
  if (model && (rc.replace || rc.backfill)) {
    predictor = load_model_predictor(cfg.encoder_checkpoint);
    if (group && group->size() > 1) predictor = shared_predictor(std::move(predictor), *group);
    used = "model";
  } else {
    // Without a model nothing can be predicted: say so by turning the predicting policies off
    // rather than letting every query come back empty. (With a model but neither policy on, e.g.
    // after the precision floor, there is nothing to load it for.)
    rc.replace = false;
    rc.backfill = false;
    predictor = [](const SequenceSet&, const std::vector<PredictQuery>& q) {
      return std::vector<Prediction>(q.size());
    };
    used = "none";
  }
  if (!cfg.detector_checkpoint.empty() && fs::is_regular_file(cfg.detector_checkpoint))
    prov.detector_checksum = str(file_crc32(cfg.detector_checkpoint));
  prov.extra = {{"predictor", used},
                {"scores", sources},
                {"detector_checkpoint", cfg.detector_checkpoint},
                {"expected_precision", expected.to_json()},
                {"precision_floor", floor}};

  RepairTruth truth;
  const RepairTruth* truth_ptr = nullptr;
  if (!cfg.truth.empty()) {
    truth = load_repair_truth(cfg.truth);
    truth_ptr = &truth;
  }
  RepairWriteOptions opts;
  opts.shards.overwrite = cfg.overwrite;
  opts.shards.fsync = cfg.fsync;
  opts.write = !group || group->rank() == 0;
  nlohmann::json out = repair_shard_set(cfg.data_dir, cfg.out_dir, scores, rc, predictor, prov, truth_ptr, opts);
  if (group) group->check_all(true, "repair");  // the others wait until rank 0 has written
  out["predictor"] = used;
  return out;
}

}  // namespace seqmend
