// The scores of a log's events as two components: its genuine events, normal in logit space, and
// its hidden anomalies, shaped like injected ones whose scores are known (any shape: their
// histogram). log_precision (thresholds.h) estimates precision from the thinnest tail ratio, which
// assumes the log's highest-scored events are all anomalies; this fit gives a second estimate that
// does not: of the events flagged at t, the fitted genuine component accounts for (1 − π) · C(t)
// where C is its tail, the rest are anomalies.
//
//   ScoreMixture m = fit_score_mixture(log_scores, injected_scores);
//   double p = m.precision_at(t, flagged_share);   // 1 − (1 − π) · C(t) / flagged_share, in [0, 1]
//
// Why a normal genuine component: the detector's fused score is a logistic regression, whose logit
// is a sum of many small terms. Where the fit and the log disagree — the genuine component alone
// putting more events above t than the log holds there, as on Amazon Video Games, whose genuine
// events spread wide (sd 2.2 logits against ML-100K's 1.3) — the estimate falls to 0: the scores
// support no precision claim, and no edit is made.
#pragma once

#include <cstdint>
#include <span>

#include <nlohmann/json.hpp>

namespace seqmend {

struct ScoreMixture {
  bool fitted = false;  // false: too few scores; precision_at then returns 1 (no second opinion)
  bool logit = true;    // the fit's space: logit of the scores when all lie in [0, 1], else the scores
  double share = 0;     // π, the share of anomalies among the log's events
  double mean = 0, sd = 1;  // the genuine component in the fit's space

  // Share of the genuine component scoring >= `score`.
  double genuine_tail(double score) const;
  // Expected precision of flagging the log's events scoring >= `score`, `flagged_share` of them.
  double precision_at(double score, double flagged_share) const;
  nlohmann::json to_json() const;
};

// EM on a 400-bin histogram of both score sets in the fit's space, from π = 0.1 and the log's own
// mean and sd; `injected_weight` (empty = 1 each) as in log_precision_threshold. Deterministic.
ScoreMixture fit_score_mixture(std::span<const float> log_scores, std::span<const float> injected_scores,
                               std::span<const float> injected_weight = {});

}  // namespace seqmend
