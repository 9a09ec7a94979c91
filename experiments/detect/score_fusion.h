// The detector's event and gap probabilities combined with label-free evidence about each event
// into one score per head:
//
//   fused = σ(w_score · logit(p) + Σ_f w_f · x_f + bias)
//
// over named per-event features x_f (experiments/detect/fusion_inputs.h): the pretrained model's
// masked-item surprisal, an exact-repeat flag, the log's item co-occurrence and the timestamps'
// pattern. Why: they see different things. The surprisal of an event with that event masked is
// what a masked-item model is trained for, and ranks out-of-place items (noise clicks,
// substitutions) well without labels; the heads read the encoder's states at the unmasked event
// and learn what surprisal misses. An exact repeat of the previous event (same item, same action:
// a double click, a retried request) is *unsurprising* to a masked-item model, and the encoder sees
// it only through attention, so the flag is given to the regression directly. The co-occurrence
// features say how well the item fits its user's other items by the whole log's counts: a model
// trained on a log that is already noisy learns some of its noise as normal, the log's
// co-occurrence hardly does. The time features say where an event sits between its neighbours and
// how long the gap before it is for this user. The weights are a logistic regression fitted on the
// calibration split (the same labelled data the thresholds are calibrated on), so thresholds are
// calibrated on fused scores, and a feature that carries no signal there gets ~no weight.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/eval/detection_metrics.h"
#include "experiments/detect/fusion_inputs.h"

namespace seqmend {

struct FusionWeights {
  bool fitted = false;  // false: the head's score is left as the detector wrote it
  double score = 1.0;   // weight of logit(p)
  double bias = 0.0;
  std::vector<std::pair<std::string, double>> features;  // weight per feature name, in fitting order

  double weight(const std::string& name) const;  // 0 for a feature the weights do not name
  // The fused score of one event: p and the inputs' values at `event`. A nonzero weight on a
  // feature the inputs lack is an error naming it.
  float apply(float p, const FusionInputs& inputs, size_t event) const;
  nlohmann::json to_json() const;  // {"score", "bias", one key per feature}; null when not fitted
  static FusionWeights from_json(const nlohmann::json& j);
};

struct ScoreFusion {
  FusionWeights event, gap;
  FusionFeatureSet features;  // what detection must compute: the set the weights were fitted on

  bool any() const { return event.fitted || gap.fitted; }
  // In place over the event and gap scores of one split; the inputs aligned with them.
  void apply(DetectorScores& scores, const FusionInputs& inputs) const;
  // {"event": {...}, "gap": {...}, "surprisal_passes": k, "cooccurrence": b, "time": b}
  nlohmann::json to_json() const;
  static ScoreFusion from_json(const nlohmann::json& j);
};

// Logistic regression of the head's labels (positive / negative codes as in detection_metrics.h;
// other codes left out) on logit(p) and every feature of `inputs`, by Newton's method on
// standardised features with a small ridge penalty. Not fitted (fitted = false) when a class is
// missing.
FusionWeights fit_fusion(std::span<const float> scores, const FusionInputs& inputs, std::span<const int8_t> codes,
                         const HeadCodes& head);

}  // namespace seqmend
