#include "experiments/eval/detection_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/base/error.h"

namespace seqmend {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_inputs(const char* op, std::span<const float> scores, std::span<const uint8_t> positive) {
  SEQ_CHECK(scores.size() == positive.size(), op, ": ", scores.size(), " scores but ", positive.size(), " labels");
  for (size_t i = 0; i < scores.size(); ++i)
    SEQ_CHECK(std::isfinite(scores[i]), op, ": score ", i, " is ", scores[i], " (scores must be finite)");
}

// Indices sorted by score, high first; ties by index so the order (and every sweep) is deterministic.
std::vector<int64_t> order_descending(std::span<const float> scores) {
  std::vector<int64_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), int64_t(0));
  std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return scores[size_t(a)] != scores[size_t(b)] ? scores[size_t(a)] > scores[size_t(b)] : a < b;
  });
  return idx;
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

nlohmann::json binary_report(std::span<const float> scores, std::span<const uint8_t> positive, double threshold) {
  ThresholdMetrics m = metrics_at_threshold(scores, positive, threshold);
  return {{"positives", m.tp + m.fn},
          {"negatives", m.fp + m.tn},
          {"roc_auc", json_number(roc_auc(scores, positive))},
          {"pr_auc", json_number(average_precision(scores, positive))},
          {"tp", m.tp},
          {"fp", m.fp},
          {"fn", m.fn},
          {"tn", m.tn},
          {"precision", json_number(m.precision)},
          {"recall", json_number(m.recall)},
          {"f1", json_number(m.f1)}};
}

}  // namespace

std::vector<float> HeadItems::scores_of(std::span<const float> scores) const {
  std::vector<float> s;
  s.reserve(index.size());
  for (size_t i : index) s.push_back(scores[i]);
  return s;
}

HeadItems head_items(std::span<const int8_t> codes, const HeadCodes& head, int only_type) {
  HeadItems items;
  for (size_t i = 0; i < codes.size(); ++i) {
    const int c = codes[i];
    const bool pos = only_type < 0 ? contains(head.positive, c) : c == only_type;
    if (!pos && !contains(head.negative, c)) continue;
    items.index.push_back(i);
    items.positive.push_back(pos ? 1 : 0);
  }
  return items;
}

HeadCodes event_head_codes() {
  return {{kLabelNoiseClick, kLabelSubstitution, kLabelBurstRepeat}, {kLabelClean, kLabelGapAfter}};
}
HeadCodes gap_head_codes() {
  return {{kLabelGapAfter}, {kLabelClean, kLabelNoiseClick, kLabelSubstitution, kLabelBurstRepeat}};
}
HeadCodes sequence_head_codes() { return {{kLabelBotUniform, kLabelBotPopular, kLabelBotPush}, {kLabelClean}}; }

double roc_auc(std::span<const float> scores, std::span<const uint8_t> positive) {
  check_inputs("roc_auc", scores, positive);
  const int64_t n = int64_t(scores.size());
  int64_t num_pos = 0;
  for (uint8_t p : positive) num_pos += p ? 1 : 0;
  const int64_t num_neg = n - num_pos;
  if (num_pos == 0 || num_neg == 0) return kNaN;
  // Ascending ranks 1..n; a tie group of size g starting at rank r gets r + (g - 1) / 2 each. Twice the
  // rank is an integer, so the sum is exact in int64 (well beyond any data size here).
  std::vector<int64_t> idx = order_descending(scores);
  std::reverse(idx.begin(), idx.end());
  int64_t twice_rank_sum = 0;
  for (int64_t a = 0; a < n;) {
    int64_t b = a;
    while (b < n && scores[size_t(idx[size_t(b)])] == scores[size_t(idx[size_t(a)])]) ++b;
    const int64_t twice_rank = (a + 1) + b;  // 2 · average of ranks a+1..b
    for (int64_t k = a; k < b; ++k)
      if (positive[size_t(idx[size_t(k)])]) twice_rank_sum += twice_rank;
    a = b;
  }
  // U = R_pos - P(P+1)/2, AUC = U / (P·N).
  const double u = 0.5 * double(twice_rank_sum - num_pos * (num_pos + 1));
  return u / (double(num_pos) * double(num_neg));
}

double average_precision(std::span<const float> scores, std::span<const uint8_t> positive) {
  check_inputs("average_precision", scores, positive);
  const int64_t n = int64_t(scores.size());
  int64_t num_pos = 0;
  for (uint8_t p : positive) num_pos += p ? 1 : 0;
  if (num_pos == 0) return kNaN;
  std::vector<int64_t> idx = order_descending(scores);
  int64_t tp = 0, flagged = 0, tp_prev = 0;
  double ap = 0;
  for (int64_t a = 0; a < n;) {
    int64_t b = a;
    while (b < n && scores[size_t(idx[size_t(b)])] == scores[size_t(idx[size_t(a)])]) {
      tp += positive[size_t(idx[size_t(b)])] ? 1 : 0;
      ++b;
    }
    flagged = b;
    ap += double(tp - tp_prev) / double(num_pos) * (double(tp) / double(flagged));
    tp_prev = tp;
    a = b;
  }
  return ap;
}

ThresholdMetrics metrics_at_threshold(std::span<const float> scores, std::span<const uint8_t> positive,
                                      double threshold) {
  check_inputs("metrics_at_threshold", scores, positive);
  SEQ_CHECK(!std::isnan(threshold), "metrics_at_threshold: threshold is NaN");
  ThresholdMetrics m;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool flag = scores[i] >= float(threshold);
    if (positive[i]) (flag ? m.tp : m.fn)++;
    else (flag ? m.fp : m.tn)++;
  }
  m.precision = m.tp + m.fp ? double(m.tp) / double(m.tp + m.fp) : kNaN;
  m.recall = m.tp + m.fn ? double(m.tp) / double(m.tp + m.fn) : kNaN;
  const int64_t den = 2 * m.tp + m.fp + m.fn;
  m.f1 = den ? 2.0 * double(m.tp) / double(den) : kNaN;
  return m;
}

nlohmann::json json_number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

nlohmann::json head_report(std::span<const float> scores, std::span<const int8_t> codes, double threshold,
                           const HeadCodes& head) {
  SEQ_CHECK(scores.size() == codes.size(), "head_report: ", scores.size(), " scores but ", codes.size(), " labels");
  auto report = [&](int type) {
    const HeadItems items = head_items(codes, head, type);
    return binary_report(items.scores_of(scores), items.positive, threshold);
  };
  nlohmann::json out = {{"threshold", json_number(threshold)}};
  out["overall"] = report(-1);
  out["by_type"] = nlohmann::json::object();
  for (int t : head.positive) {
    if (std::find(codes.begin(), codes.end(), int8_t(t)) == codes.end()) continue;
    out["by_type"][anomaly_label_name(t)] = report(t);
  }
  return out;
}

nlohmann::json detection_report(const DetectorScores& scores, const SequenceSet& labelled, double event_threshold,
                                double gap_threshold, double sequence_threshold) {
  nlohmann::json out = nlohmann::json::object();
  const size_t num_events = size_t(labelled.num_events()), num_seq = size_t(labelled.num_sequences());
  auto event_head = [&](const char* name, const std::vector<float>& s, double thr, const HeadCodes& codes) {
    if (s.empty()) return;
    SEQ_CHECK(s.size() == num_events, "detection_report: ", name, " head has ", s.size(), " scores for ",
              num_events, " events");
    if (!labelled.has_labels()) out[name] = {{"skipped", "the data has no event labels"}};
    else out[name] = head_report(s, labelled.label, thr, codes);
  };
  event_head("event", scores.event, event_threshold, event_head_codes());
  event_head("gap", scores.gap, gap_threshold, gap_head_codes());
  if (!scores.sequence.empty()) {
    SEQ_CHECK(scores.sequence.size() == num_seq, "detection_report: sequence head has ", scores.sequence.size(),
              " scores for ", num_seq, " sequences");
    if (labelled.seq_label.empty()) out["sequence"] = {{"skipped", "the data has no sequence labels"}};
    else out["sequence"] = head_report(scores.sequence, labelled.seq_label, sequence_threshold, sequence_head_codes());
  }
  return out;
}

}  // namespace seqmend
