#include "experiments/detect/thresholds.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/base/error.h"
#include "experiments/detect/score_mixture.h"

namespace seqmend {
namespace {

// One point per distinct score, high to low: flagging every item with score >= `threshold`.
struct SweepPoint {
  double threshold;
  int64_t tp, flagged;
  double weighted_tp = 0;  // log_precision's positives by their kind weights (= tp without weights)
};

std::vector<SweepPoint> sweep(const char* op, std::span<const float> scores, std::span<const uint8_t> positive,
                              int64_t& num_pos, std::span<const float> weight = {}) {
  SEQ_CHECK(scores.size() == positive.size(), op, ": ", scores.size(), " scores but ", positive.size(), " labels");
  SEQ_CHECK(weight.empty() || weight.size() == scores.size(), op, ": ", weight.size(), " weights for ",
            scores.size(), " scores");
  for (size_t i = 0; i < scores.size(); ++i)
    SEQ_CHECK(std::isfinite(scores[i]), op, ": score ", i, " is ", scores[i], " (scores must be finite)");
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), size_t(0));
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  num_pos = 0;
  for (uint8_t p : positive) num_pos += p ? 1 : 0;
  std::vector<SweepPoint> pts;
  int64_t tp = 0;
  double wtp = 0;
  for (size_t a = 0; a < idx.size();) {
    size_t b = a;
    for (; b < idx.size() && scores[idx[b]] == scores[idx[a]]; ++b)
      if (positive[idx[b]]) ++tp, wtp += weight.empty() ? 1.0 : double(weight[idx[b]]);
    pts.push_back({double(scores[idx[a]]), tp, int64_t(b), wtp});
    a = b;
  }
  return pts;
}

ThresholdChoice choice_at(const SweepPoint& p, int64_t num_pos) {
  ThresholdChoice c;
  c.threshold = p.threshold;
  c.flagged = p.flagged;
  c.precision = double(p.tp) / double(p.flagged);
  c.recall = double(p.tp) / double(num_pos);
  c.f1 = 2.0 * double(p.tp) / double(p.flagged + num_pos);
  return c;
}

ThresholdChoice degenerate() {
  ThresholdChoice c;
  c.degenerate = true;
  c.target_reached = false;
  return c;
}

}  // namespace

nlohmann::json ThresholdChoice::to_json() const {
  nlohmann::json j = {{"threshold", json_number(threshold)}, {"precision", precision}, {"recall", recall},
                      {"f1", f1},           {"flagged", flagged},     {"target_reached", target_reached},
                      {"degenerate", degenerate}};
  if (hidden_share >= 0) j["hidden_share"] = hidden_share;
  if (below_min_share) j["below_min_share"] = true;
  if (best_precision >= 0) j["best_expected_precision"] = best_precision;
  if (!mixture.is_null()) j["mixture"] = mixture;
  return j;
}

nlohmann::json Thresholds::to_json() const {
  return {{"event", json_number(event)}, {"gap", json_number(gap)}, {"sequence", json_number(sequence)}};
}

nlohmann::json HeadPrecision::to_json() const {
  return {{"event", json_number(event)}, {"gap", json_number(gap)}, {"sequence", json_number(sequence)}};
}

HeadPrecision HeadPrecision::from_calibration(const nlohmann::json& calibration) {
  auto of = [&](const char* head) {
    const nlohmann::json h = calibration.is_object() ? calibration.value(head, nlohmann::json()) : nlohmann::json();
    const nlohmann::json p = h.is_object() ? h.value("precision", nlohmann::json()) : nlohmann::json();
    return p.is_number() ? p.get<double>() : std::numeric_limits<double>::quiet_NaN();
  };
  return {of("event"), of("gap"), of("sequence")};
}

nlohmann::json HeadThresholds::to_json() const {
  return {{"event", event.to_json()}, {"gap", gap.to_json()}, {"sequence", sequence.to_json()}};
}

ThresholdChoice best_f1_threshold(std::span<const float> scores, std::span<const uint8_t> positive) {
  int64_t num_pos = 0;
  std::vector<SweepPoint> pts = sweep("best_f1_threshold", scores, positive, num_pos);
  if (num_pos == 0) return degenerate();
  // F1 = 2tp / (flagged + P): compare 2tp·(flagged' + P) exactly in integers; strict > keeps the
  // first (highest) threshold among equals.
  size_t best = 0;
  for (size_t k = 1; k < pts.size(); ++k)
    if (pts[k].tp * (pts[best].flagged + num_pos) > pts[best].tp * (pts[k].flagged + num_pos)) best = k;
  return choice_at(pts[best], num_pos);
}

ThresholdChoice precision_threshold(std::span<const float> scores, std::span<const uint8_t> positive,
                                    double target_precision) {
  SEQ_CHECK(target_precision >= 0 && target_precision <= 1, "precision_threshold: target precision ",
            target_precision, " is outside [0, 1]");
  int64_t num_pos = 0;
  std::vector<SweepPoint> pts = sweep("precision_threshold", scores, positive, num_pos);
  if (num_pos == 0) return degenerate();
  // Thresholds fall as k grows: the last point reaching the target is the smallest threshold.
  int64_t reached = -1;
  for (size_t k = 0; k < pts.size(); ++k)
    if (double(pts[k].tp) >= target_precision * double(pts[k].flagged)) reached = int64_t(k);
  if (reached >= 0) return choice_at(pts[size_t(reached)], num_pos);
  size_t best = 0;  // largest precision tp/flagged, compared exactly; >= prefers the smaller threshold
  for (size_t k = 1; k < pts.size(); ++k)
    if (pts[k].tp * pts[best].flagged >= pts[best].tp * pts[k].flagged) best = k;
  ThresholdChoice c = choice_at(pts[best], num_pos);
  c.target_reached = false;
  return c;
}

ThresholdChoice log_precision_threshold(std::span<const float> scores, std::span<const uint8_t> positive,
                                        double target_precision, int64_t min_tail,
                                        std::span<const float> positive_weight, bool mixture_check,
                                        double min_share) {
  SEQ_CHECK(target_precision >= 0 && target_precision <= 1, "log_precision_threshold: target precision ",
            target_precision, " is outside [0, 1]");
  SEQ_CHECK(min_share >= 0 && min_share <= 1, "log_precision_threshold: min_share ", min_share,
            " is outside [0, 1]");
  for (size_t i = 0; i < positive_weight.size(); ++i)
    SEQ_CHECK(std::isfinite(positive_weight[i]) && positive_weight[i] >= 0, "log_precision_threshold: weight ", i,
              " is ", positive_weight[i], " (weights must be finite and >= 0)");
  int64_t num_pos = 0;
  std::vector<SweepPoint> pts = sweep("log_precision_threshold", scores, positive, num_pos, positive_weight);
  const int64_t num_neg = int64_t(scores.size()) - num_pos;
  if (num_pos == 0 || num_neg == 0 || !(pts.back().weighted_tp > 0)) return degenerate();
  const double total_weight = pts.back().weighted_tp;
  auto f_pos = [&](const SweepPoint& p) { return p.weighted_tp / total_weight; };
  auto f_neg = [&](const SweepPoint& p) { return double(p.flagged - p.tp) / double(num_neg); };
  // The ratio at the thresholds flagging 10, 15, ..., 30 % of the positives (and min_tail of them at
  // least): tails thinner than a tenth are mostly noise, and each ratio exceeds the share by the
  // genuine events it flags, so the smallest of these few is the estimate (deletions err on the
  // side of doing no harm).
  std::vector<double> ratios;
  size_t k = 0;
  // A level is a share of the positives' weight; min_tail counts positives whatever their weight.
  const int64_t need = std::min(min_tail, num_pos);
  for (double level : {0.10, 0.15, 0.20, 0.25, 0.30}) {
    while (k + 1 < pts.size() && (pts[k].tp < need || pts[k].weighted_tp < level * total_weight)) ++k;
    ratios.push_back(f_neg(pts[k]) / f_pos(pts[k]));
  }
  const double share = std::min(1.0, *std::min_element(ratios.begin(), ratios.end()));
  ScoreMixture mixture;
  if (mixture_check) {
    std::vector<float> log_scores, injected, injected_weight;
    for (size_t i = 0; i < scores.size(); ++i) {
      if (!positive[i]) {
        log_scores.push_back(scores[i]);
        continue;
      }
      injected.push_back(scores[i]);
      if (!positive_weight.empty()) injected_weight.push_back(positive_weight[i]);
    }
    mixture = fit_score_mixture(log_scores, injected, injected_weight);
  }
  // The lower of the two estimates: the thinnest tail ratio's, which takes the top for pure
  // anomalies, and the mixture's, which takes the genuine events for normal (score_mixture.h).
  auto expected = [&](const SweepPoint& p) {
    if (p.flagged - p.tp == 0) return 1.0;
    return std::min({1.0, share * f_pos(p) / f_neg(p), mixture.precision_at(p.threshold, f_neg(p))});
  };
  int64_t reached = -1;
  double best = 0;
  for (size_t k = 0; k < pts.size(); ++k) {
    if (pts[k].flagged == pts[k].tp) continue;  // no negative flagged: nothing of the log's own is edited
    if (expected(pts[k]) >= target_precision) reached = int64_t(k);
    best = std::max(best, expected(pts[k]));
  }
  ThresholdChoice c;
  if (share < min_share) {
    c.target_reached = false;  // taken as clean: nothing of the log's own is edited
    c.below_min_share = true;
    c.best_precision = best;
  } else if (reached >= 0) {
    const SweepPoint& p = pts[size_t(reached)];
    c = choice_at(p, num_pos);
    c.precision = expected(p);
    c.recall = f_pos(p);
    c.f1 = 2 * c.precision * c.recall / (c.precision + c.recall);
  } else {
    // Out of reach: an edit below the target precision is not made, so the head flags nothing.
    c.target_reached = false;
    c.best_precision = best;
  }
  c.hidden_share = share;
  if (mixture.fitted) c.mixture = mixture.to_json();
  return c;
}

HeadThresholds calibrate_thresholds(const DetectorScores& scores, const SequenceSet& labelled,
                                    const ThresholdConfig& cfg, std::span<const float> event_weight) {
  auto calibrate = [&](const char* head, const std::string& head_method, const std::vector<float>& s,
                       const std::vector<int8_t>& codes, const HeadCodes& hc, size_t expected,
                       std::span<const float> weight) {
    const std::string& method = cfg.method_for(head_method);
    SEQ_CHECK(method == "best_f1" || method == "precision" || method == "log_precision",
              "calibrate_thresholds: unknown method '", method, "' for the ", head,
              " head (best_f1 | precision | log_precision)");
    if (s.empty() || codes.empty()) return degenerate();
    SEQ_CHECK(s.size() == expected && codes.size() == expected, "calibrate_thresholds: ", head, " head has ",
              s.size(), " scores and ", codes.size(), " labels, expected ", expected);
    SEQ_CHECK(weight.empty() || weight.size() == expected, "calibrate_thresholds: ", head, " head has ",
              weight.size(), " weights, expected ", expected);
    const HeadItems items = head_items(codes, hc);
    const std::vector<float> kept = items.scores_of(s);
    if (method == "log_precision") {
      const std::vector<float> kept_weight = weight.empty() ? std::vector<float>() : items.scores_of(weight);
      return log_precision_threshold(kept, items.positive, cfg.target_precision, 50, kept_weight,
                                     cfg.mixture_check, cfg.min_hidden_share);
    }
    return method == "best_f1" ? best_f1_threshold(kept, items.positive)
                               : precision_threshold(kept, items.positive, cfg.target_precision);
  };
  HeadThresholds t;
  const size_t ne = size_t(labelled.num_events()), ns = size_t(labelled.num_sequences());
  t.event = calibrate("event", cfg.event_method, scores.event, labelled.label, event_head_codes(), ne, event_weight);
  t.gap = calibrate("gap", cfg.gap_method, scores.gap, labelled.label, gap_head_codes(), ne, {});
  t.sequence =
      calibrate("sequence", cfg.sequence_method, scores.sequence, labelled.seq_label, sequence_head_codes(), ns, {});
  return t;
}

}  // namespace seqmend
