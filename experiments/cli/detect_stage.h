// `seqmend detect`: scores every event and every sequence of a shard set split with a fine-tuned
// detector (experiments/cli/finetune_stage.h) and the pretrained model's surprisal
// (experiments/detect/surprisal.h), writes scores.h5, event_scores.csv, sequence_scores.csv and, where the
// split has labels, detection.json (experiments/eval/detection_metrics.h) into run_dir.
//
// scores.h5 (HDF5, written atomically): CSR like a shard — `offsets` (n + 1, int64), `user` (n,
// int64 remapped ids), `item` (E, int32), `event_score`, `gap_score`, `surprisal` (E, float32),
// `sequence_score` (n, float32); attributes `split`, `data_dir`, `detector`, thresholds
// `threshold_event`, `threshold_gap`, `threshold_sequence` (inf = flags nothing) and the calibration's
// expected precision of each head's flags, `expected_precision_event`, `_gap`, `_sequence` (NaN =
// unknown; repair's precision floor reads them).
// event_scores.csv: user,position,item,timestamp,score,gap_score,surprisal — user and item as the
// manifest's original ids (remapped ids when the manifest has none), position = 0-based index of
// the event in the user's stored sequence, timestamp empty when the data has none.
// sequence_scores.csv: user,score.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/detector.h"
#include "experiments/eval/detection_metrics.h"
#include "experiments/detect/surprisal.h"

namespace seqmend {

class ConfigVisitor;
class DataParallelGroup;

struct DetectConfig {
  std::string data_dir;             // shard set to score
  std::string split = "test";
  std::string detector_checkpoint;  // detector.h5 or a finetune run directory
  std::string run_dir;              // outputs
  bool surprisal = true;            // the unsupervised baseline (k passes per batch)
  int64_t surprisal_passes = 8;
  int64_t batch_size = 128;         // windows per scoring batch
  std::string device = "cpu";       // cpu | cuda: where the detector and the surprisal's encoder score
  int64_t threads = 0;
  bool write_csv = true;

  void visit(ConfigVisitor& v);
  void validate() const;
};

// The stage, collective: every rank scores a share of the batches, rank 0 writes the files.
// Returns a summary (and detection.json's content under
// "detection" when labels exist).
nlohmann::json run_detect(DetectConfig& cfg, DataParallelGroup& group);

}  // namespace seqmend
