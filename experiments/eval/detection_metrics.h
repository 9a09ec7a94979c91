// Detection metrics for the detector's three heads, independent of the model: the detector stage
// produces scores, these functions grade them against the injected labels.
//
//   DetectorScores s = ...;                       // event (E), gap (E), sequence (n) scores
//   nlohmann::json r = detection_report(s, valid_set, thresholds);   // for results.json
//
// Conventions (shared with experiments/detect/thresholds.h and experiments/repair/repair.h):
// - an item is flagged when score >= threshold, compared in float (the scores' type; a threshold
//   of 0.35 then flags a score of 0.35f, and calibrated thresholds are scores themselves);
// - ROC-AUC is exact with ties at their average rank (the Mann–Whitney U statistic over P·N);
// - PR-AUC is average precision as sklearn's average_precision_score: sum over distinct thresholds,
//   high to low, of (R_k - R_{k-1}) · P_k, a tie group entering all at once (no interpolation);
// - a metric that is undefined (one class absent, nothing flagged for precision) is NaN, written as
//   JSON null. Scores must be finite (NaN is an error naming the op and the index).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/sequence_set.h"

namespace seqmend {

// What the detector emits for one split, aligned with a SequenceSet. An empty vector = head absent.
struct DetectorScores {
  std::vector<float> event;     // (E) is this event noise (noise click, substitution, burst repeat)?
  std::vector<float> gap;       // (E) was an event dropped just before this one?
  std::vector<float> sequence;  // (n) is this sequence a bot?
};

// Which label codes are positives and which negatives for each head; codes in neither set (e.g.
// bot events for the event head) are left out of that head's metrics.
struct HeadCodes {
  std::vector<int> positive;
  std::vector<int> negative;
};
// The items a head is graded on: their index into `codes` and whether each is a positive. Codes in
// neither set are left out; `only_type` >= 0 keeps that one positive code (and the negatives).
struct HeadItems {
  std::vector<size_t> index;
  std::vector<uint8_t> positive;

  // The scores of these items, aligned with `positive`.
  std::vector<float> scores_of(std::span<const float> scores) const;
};
HeadItems head_items(std::span<const int8_t> codes, const HeadCodes& head, int only_type = -1);

// event head: noise_click, substitution, burst_repeat vs clean (and dropped_before: a genuine event)
HeadCodes event_head_codes();
// gap head: dropped_before vs every other event of a human sequence (codes 0..3)
HeadCodes gap_head_codes();
// sequence head: bot_uniform, bot_popular, bot_push vs clean sequences
HeadCodes sequence_head_codes();

// Exact ROC-AUC of `scores` for `positive` (1 = positive); NaN when either class is empty.
double roc_auc(std::span<const float> scores, std::span<const uint8_t> positive);
// Average precision (sklearn's definition); NaN when there is no positive.
double average_precision(std::span<const float> scores, std::span<const uint8_t> positive);

struct ThresholdMetrics {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  double precision = 0;  // tp / (tp + fp); NaN when nothing is flagged
  double recall = 0;     // tp / (tp + fn); NaN when there is no positive
  double f1 = 0;         // 2tp / (2tp + fp + fn); NaN when there is neither a positive nor a flag
};
ThresholdMetrics metrics_at_threshold(std::span<const float> scores, std::span<const uint8_t> positive,
                                      double threshold);

// JSON number, or null for NaN/inf (JSON has no NaN).
nlohmann::json json_number(double x);

// One head's report: "overall" (any positive code vs the negatives) and "by_type" (each positive
// code present, by name, vs the negatives), each {positives, negatives, roc_auc, pr_auc, tp, fp, fn,
// tn, precision, recall, f1}, plus "threshold".
nlohmann::json head_report(std::span<const float> scores, std::span<const int8_t> codes, double threshold,
                           const HeadCodes& head);

// All heads present in `scores` against the labels of `labelled` (label for event and gap heads,
// seq_label for the sequence head); thresholds per head (+inf: nothing flagged). Heads whose labels
// are missing are reported as {"skipped": reason}.
nlohmann::json detection_report(const DetectorScores& scores, const SequenceSet& labelled, double event_threshold,
                                double gap_threshold, double sequence_threshold);

}  // namespace seqmend
