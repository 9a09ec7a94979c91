// The detector's event and gap probabilities combined with the pretrained model's masked-item
// surprisal (experiments/surprisal.h) into one score per head:
//
//   fused = σ(w_score · logit(p) + w_surprisal · surprisal + bias)
//
// Why: the two see different things. The surprisal of an event with that event masked is what a
// masked-item model is trained for, and ranks out-of-place items (noise clicks, substitutions)
// well without labels; the heads read the encoder's states at the unmasked event and learn what
// surprisal misses (burst repeats are *unsurprising* to a masked-item model). The three weights
// are a logistic regression fitted on the calibration split (the same labelled data the thresholds
// are calibrated on), so thresholds are calibrated on fused scores.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/detection_metrics.h"

namespace seqmend {

struct FusionWeights {
  bool fitted = false;  // false: the head's score is left as the detector wrote it
  double score = 1.0;   // weight of logit(p)
  double surprisal = 0.0;
  double bias = 0.0;

  float apply(float p, float surprisal) const;
  nlohmann::json to_json() const;
  static FusionWeights from_json(const nlohmann::json& j);
};

struct ScoreFusion {
  FusionWeights event, gap;
  int surprisal_passes = 0;  // the surprisal the weights were fitted on; detection must use the same

  bool any() const { return event.fitted || gap.fitted; }
  // In place over the event and gap scores of one split; `surprisal` aligned with them.
  void apply(DetectorScores& scores, std::span<const float> surprisal) const;
  nlohmann::json to_json() const;  // {"event": {...}, "gap": {...}, "surprisal_passes": k}
  static ScoreFusion from_json(const nlohmann::json& j);
};

// Logistic regression of the head's labels (positive / negative codes as in detection_metrics.h;
// other codes left out) on (logit(p), surprisal), by Newton's method on standardised features with
// a small ridge penalty. Not fitted (fitted = false) when a class is missing.
FusionWeights fit_fusion(std::span<const float> scores, std::span<const float> surprisal,
                         std::span<const int8_t> codes, const HeadCodes& head);

}  // namespace seqmend
