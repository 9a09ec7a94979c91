// `seqmend repair`: repairs a shard set from the detector's scores (experiments/repair/repair_shard_set.h).
//
// Inputs: the shard set, one scores.h5 per split written by `seqmend detect` (experiments/
// detect_stage.h: CSR offsets, event_score, gap_score, sequence_score, thresholds as attributes
// threshold_event/gap/sequence), optionally repair_truth.tsv. A split without scores is copied
// unchanged. Thresholds come from the scores file of the first split given (all must agree).
//
// Replace and backfill need a masked-item predictor: the pretrained encoder's
// (experiments/repair/model_predictor.h). predictor=auto uses it when encoder_checkpoint is set, and
// otherwise repairs by deletion and quarantine only (replace and backfill off, recorded in
// repair.json as predictor "none"); predictor=model without encoder_checkpoint is an error.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "experiments/repair/repair.h"
#include "io/config.h"

namespace seqmend {

class DataParallelGroup;

struct RepairStageConfig {
  std::string data_dir;             // the shard set to repair
  std::string out_dir;              // OUT (io/FORMAT.md, "Repaired shard sets")
  std::string scores_train;         // scores.h5 per split; "" = split copied unchanged
  std::string scores_valid;
  std::string scores_test;
  std::string detector_checkpoint;  // recorded with its CRC-32 in the provenance ("" = none)
  std::string encoder_checkpoint;   // for the model predictor
  std::string truth;                // repair_truth.tsv ("" = none)
  std::string predictor = "auto";   // auto | model | none
  RepairConfig repair;
  bool overwrite = false;
  bool fsync = true;

  void visit(ConfigVisitor& v) {
    v.field("data_dir", data_dir, "shard set to repair");
    v.field("out_dir", out_dir, "output directory of the repaired shard set");
    v.field("scores_train", scores_train, "scores.h5 of the train split from seqmend detect (\"\" = copy unchanged)");
    v.field("scores_valid", scores_valid, "scores.h5 of the valid split (\"\" = copy unchanged)");
    v.field("scores_test", scores_test, "scores.h5 of the test split (\"\" = copy unchanged)");
    v.field("detector_checkpoint", detector_checkpoint, "detector checkpoint, recorded with its CRC-32");
    v.field("encoder_checkpoint", encoder_checkpoint, "pretrained encoder for the model predictor");
    v.field("truth", truth, "repair_truth.tsv from seqmend simulate (\"\" = no truth statistics)");
    v.choice("predictor", predictor, {"auto", "model", "none"},
             "masked-item predictor for replace/backfill: model, none (delete/quarantine only), auto");
    v.section("repair", repair, "repair policies (experiments/repair/repair.h)");
    v.field("overwrite", overwrite, "replace an existing output directory");
    v.field("fsync", fsync, "fsync written files");
  }
};

// A split's scores and the thresholds stored with them.
struct ScoresFile {
  DetectorScores scores;
  Thresholds thresholds;
  HeadPrecision expected;  // expected precision of each head's flags (NaN: a file from before it was kept)
  std::string split;
  int64_t num_sequences = 0;
  std::vector<float> surprisal;  // the encoder's masked-item surprisal per event; empty when not scored
};
ScoresFile read_scores_h5(const std::string& path);

// Runs the repair; returns repair.json's content (with "predictor" added). With a group of several
// ranks it is collective: the model's predictions are made in shares (experiments/
// shared_predictor.h) and rank 0 writes, the same bytes as one process.
nlohmann::json run_repair(RepairStageConfig& cfg, DataParallelGroup* group = nullptr);

}  // namespace seqmend
