// The audit: detection and repair graded against the truth, after every stage that must not see it.
//
// A noisy-log experiment (`hide_truth: true` on simulate or corrupt, experiments/eval/corrupted_set.h)
// keeps the labels, clean/ and repair_truth.tsv in DATA.truth; pretraining, fine-tuning (which
// labels only the anomalies it injects itself), calibration, detection and repair see the unlabelled
// log alone. This stage is the first to open DATA.truth: per split, the detector's scores
// (detect/<split>/scores.h5) against the true labels, beside two floors computed without any label
// (the encoder's surprisal and item popularity in the log), and the repair's edits (edits.csv)
// against the true labels and repair_truth.tsv. With the truth visible (labels in DATA itself, an
// injected-anomaly experiment) it grades the same way and says so; with no truth at all it records
// that and grades nothing.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace seqmend {

struct AuditPaths {
  std::string data_dir;    // the set the stages saw
  std::string truth_dir;   // its labelled twin (DATA.truth); "" or absent = the labels of data_dir, if any
  std::string detect_dir;  // <detect_dir>/<split>/scores.h5
  std::string repair_dir;  // <repair_dir>/edits.csv ("" = no repair to grade)
};

// Returns audit.json's content: {truth: "hidden" | "visible" | "none", truth_dir, splits: {split:
// {detection (experiments/eval/detection_metrics.h's report), floors: {surprisal, popularity}}}, repair:
// {split: repair_stats}}. Throws seqmend::Error when the truth and the scored data disagree in shape.
nlohmann::json run_audit(const AuditPaths& paths);

}  // namespace seqmend
