// Threshold calibration on validation scores, per detector head. An item is flagged when
// score >= threshold (as in experiments/eval/detection_metrics.h); the candidate thresholds are the
// distinct scores, so a threshold always flags a whole tie group.
//
//   HeadThresholds t = calibrate_thresholds(valid_scores, valid_set, cfg);   // cfg.method etc.
//   Thresholds th = t.thresholds();                                          // into repair()
//
// best_f1:   the threshold with the largest F1; among equal F1 the highest threshold (fewest flags).
// precision: the smallest threshold whose precision reaches target_precision (the most recall at
//            that precision); when no threshold reaches it, the threshold of the largest precision
//            (among equal precision the smallest) and target_reached = false.
// log_precision: for calibration data whose negatives hold unlabelled anomalies of the positives'
//            kind (anomalies injected into a log that was already noisy, where the log's own noise
//            is labelled clean): the smallest threshold whose expected precision on the log's own
//            events reaches target_precision, else +inf (log_precision_threshold below).
// A head without positives or without scores cannot be calibrated: its threshold is +inf (flags
// nothing) and degenerate = true. Everything is a pure function of the inputs.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "experiments/eval/detection_metrics.h"
#include "io/config.h"

namespace seqmend {

struct ThresholdChoice {
  double threshold = std::numeric_limits<double>::infinity();
  double precision = 0, recall = 0, f1 = 0;  // at the threshold, on the calibration scores
  int64_t flagged = 0;
  bool target_reached = true;  // precision method: false when the target was out of reach
  bool degenerate = false;     // no positives or no scores: threshold +inf
  double hidden_share = -1;    // log_precision: estimated share of hidden anomalies among the negatives
  double best_precision = -1;  // log_precision out of reach: the highest expected precision of any threshold
  bool below_min_share = false;  // log_precision: hidden_share under min_share, so the log is left as it is
  nlohmann::json mixture;      // log_precision with mixture_check: the fit (score_mixture.h)
  nlohmann::json to_json() const;
};

ThresholdChoice best_f1_threshold(std::span<const float> scores, std::span<const uint8_t> positive);
ThresholdChoice precision_threshold(std::span<const float> scores, std::span<const uint8_t> positive,
                                    double target_precision);
// The negatives are a mixture: a share π of hidden anomalies that score like the positives, the rest
// genuine. At every threshold t, F_neg(t) / F_pos(t) >= π (F = share flagged; genuine events only
// add to F_neg), close to π where the positives' tail is thick and the genuine one thin: π̂ = the
// smallest of that ratio at the thresholds flagging 10, 15, 20, 25 and 30 % of the positives (at
// least `min_tail` of them). Flagging the negatives at t then has expected precision π̂ · F_pos(t) /
// F_neg(t) and expected recall F_pos(t) of the hidden anomalies; the smallest threshold whose
// expected precision reaches the target is chosen (precision, recall and hidden_share of the result
// are these estimates); where none does, the head flags nothing (threshold +inf, target_reached =
// false, best_precision = the highest expected precision any threshold gives): an edit whose
// expected precision is below the target is not made.
// The bound π̂ is close to π only where the genuine events' tail is thin next to the positives': on
// a weak head it is far above π and the expected precision optimistic (the ML-100K noisy log's gap
// head, ROC-AUC 0.70: share 0.34 estimated where 0.085 is true, "expected" precision 0.80 where
// 0.19 is real), so the shipped configs use it for the event head only.
// π̂ also takes the log's top for pure anomalies: where genuine events score as high (Amazon Video
// Games, whose rare genuine items the detector cannot tell from random ones), the estimate is
// optimistic at every threshold (0.8 expected, 0.63 real). mixture_check therefore also fits the
// negatives' scores as a normal genuine component plus the positives' shape (score_mixture.h) and
// takes the lower of the two expected precisions: on ML-100K the tail ratio's is the lower one at
// the chosen threshold; on Amazon the mixture's stays below the target and nothing is deleted.
// positive_weight (empty = 1 each): per item, the weight of a positive in F_pos, so that positives
// drawn from another mixture than the hidden anomalies' can stand for them (noise_kind.h); the
// levels are shares of the positives' weight.
// min_share: where π̂ (an upper bound on the hidden share) is below it, the head flags nothing
// (below_min_share): a log that clean cannot be told from one whose own top events merely score
// like anomalies — a clean ML-100K log gives π̂ 0.002 and, without the floor, has 38 of its 98k
// events deleted at an expected precision of 0.8, all of them genuine.
ThresholdChoice log_precision_threshold(std::span<const float> scores, std::span<const uint8_t> positive,
                                        double target_precision, int64_t min_tail = 50,
                                        std::span<const float> positive_weight = {}, bool mixture_check = true,
                                        double min_share = 0);

struct ThresholdConfig {
  std::string method = "best_f1";  // best_f1 | precision
  double target_precision = 0.9;
  // Per-head methods ("" = `method`): a deleted genuine event, a missed bot and a wrong backfill
  // cost differently, so e.g. deletions may want precision while quarantine wants best F1.
  std::string event_method, gap_method, sequence_method;
  // log_precision on injections drawn `mixed`: weigh them by the noise kind the log's flagged
  // events look like (experiments/detect/noise_kind.h) instead of even odds.
  bool estimate_noise_kind = true;
  // log_precision: also require the expected precision of a normal-plus-positives fit of the
  // negatives (log_precision_threshold, score_mixture.h).
  bool mixture_check = true;
  // log_precision: an estimated hidden share below this leaves the log as it is (no edits).
  double min_hidden_share = 0.01;

  const std::string& method_for(const std::string& head_method) const {
    return head_method.empty() ? method : head_method;
  }
  void visit(ConfigVisitor& v) {
    v.choice("method", method, {"best_f1", "precision", "log_precision"},
             "best_f1: largest F1; precision: smallest threshold reaching target_precision; log_precision: the "
             "same for the expected precision on the log's own events (negatives hold hidden anomalies)");
    v.field("target_precision", target_precision, "precision the precision method aims for", 0.0, 1.0);
    v.choice("event_method", event_method, {"", "best_f1", "precision", "log_precision"},
             "event head's method (\"\" = method)");
    v.choice("gap_method", gap_method, {"", "best_f1", "precision", "log_precision"},
             "gap head's method (\"\" = method)");
    v.choice("sequence_method", sequence_method, {"", "best_f1", "precision", "log_precision"},
             "sequence head's method (\"\" = method)");
    v.field("estimate_noise_kind", estimate_noise_kind,
            "log_precision with injections drawn mixed: weigh them by the noise kind (uniform or popularity) the "
            "log's own flagged events look like; false: even odds");
    v.field("mixture_check", mixture_check,
            "log_precision: also require the expected precision of a fit of the log's scores as a normal genuine "
            "component plus the injected ones' shape (an edit only where both estimates reach the target)");
    v.field("min_hidden_share", min_hidden_share,
            "log_precision: where the log's estimated share of anomalies (an upper bound) is below this, the log "
            "is taken as clean and not edited: its top events are then as likely genuine ones that merely score high",
            0.0, 1.0);
  }
};

// Thresholds the repair consumes; +inf = the head flags nothing.
struct Thresholds {
  double event = std::numeric_limits<double>::infinity();
  double gap = std::numeric_limits<double>::infinity();
  double sequence = std::numeric_limits<double>::infinity();
  nlohmann::json to_json() const;  // {"event": x|null, ...} (null = +inf)
};

// The expected precision of each head's flags at its threshold (ThresholdChoice::precision: on the
// calibration labels, or for log_precision on the log's own events); NaN = unknown, e.g. in a
// scores file written before it was recorded. Repair's precision floor reads it
// (experiments/repair/precision_floor.h).
struct HeadPrecision {
  double event = std::numeric_limits<double>::quiet_NaN();
  double gap = std::numeric_limits<double>::quiet_NaN();
  double sequence = std::numeric_limits<double>::quiet_NaN();
  nlohmann::json to_json() const;  // {"event": x|null, ...} (null = unknown)
  // From a calibration record (HeadThresholds::to_json); a head without a number stays unknown.
  static HeadPrecision from_calibration(const nlohmann::json& calibration);
};

struct HeadThresholds {
  ThresholdChoice event, gap, sequence;
  Thresholds thresholds() const { return {event.threshold, gap.threshold, sequence.threshold}; }
  nlohmann::json to_json() const;
};

// Calibrates each head present in `scores` against `labelled` (positives/negatives per head as in
// detection_metrics.h: items whose code is in neither set are ignored). A missing head or missing
// labels leave that head degenerate. event_weight (E, or empty): the event head's positive weights
// for log_precision (noise_kind.h's kind_weights).
HeadThresholds calibrate_thresholds(const DetectorScores& scores, const SequenceSet& labelled,
                                    const ThresholdConfig& cfg, std::span<const float> event_weight = {});

}  // namespace seqmend
