// The detector's event and gap probabilities combined with the pretrained model's masked-item
// surprisal (experiments/surprisal.h) and an exact-repeat flag into one score per head:
//
//   fused = σ(w_score · logit(p) + w_surprisal · surprisal + w_repeat · repeat
//             + w_mean · cosine_mean + w_top · cosine_top + w_count · log_count
//             + w_near · jaccard_near + bias)
//
// Why: they see different things. The surprisal of an event with that event masked is what a
// masked-item model is trained for, and ranks out-of-place items (noise clicks, substitutions)
// well without labels; the heads read the encoder's states at the unmasked event and learn what
// surprisal misses. An exact repeat of the previous event (same item, same action: a double
// click, a retried request) is *unsurprising* to a masked-item model, and the encoder sees it
// only through attention, so the flag is given to the regression directly; its weight is learnt,
// so data where such repeats are genuine gives it none. The co-occurrence features
// (experiments/item_cooccurrence.h) say how well the item fits its user's other items by the whole
// log's counts: a model trained on a log that is already noisy learns some of its noise as normal,
// the log's co-occurrence hardly does (a noise item adds one user to a few pairs). The weights are a logistic
// regression fitted on the calibration split (the same labelled data the thresholds are
// calibrated on), so thresholds are calibrated on fused scores.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/detection_metrics.h"
#include "io/sequence_set.h"

namespace seqmend {

// What the regression reads besides the head's probability, aligned with a split's events; an
// empty co-occurrence span counts as all zero (the feature then gets no weight).
struct FusionInputs {
  std::span<const float> surprisal, repeat;
  std::span<const float> cosine_mean, cosine_top, log_count, jaccard_near;
};

struct FusionWeights {
  bool fitted = false;  // false: the head's score is left as the detector wrote it
  double score = 1.0;   // weight of logit(p)
  double surprisal = 0.0;
  double repeat = 0.0;  // absent in detectors written before the flag existed: 0
  double bias = 0.0;
  double cosine_mean = 0.0, cosine_top = 0.0, log_count = 0.0, jaccard_near = 0.0;  // absent before: 0

  float apply(float p, float surprisal, float repeat, float cosine_mean = 0, float cosine_top = 0,
              float log_count = 0, float jaccard_near = 0) const;
  nlohmann::json to_json() const;
  static FusionWeights from_json(const nlohmann::json& j);
};

struct ScoreFusion {
  FusionWeights event, gap;
  int surprisal_passes = 0;  // the surprisal the weights were fitted on; detection must use the same
  bool cooccurrence = false;  // the weights read co-occurrence features: detection computes them too

  bool any() const { return event.fitted || gap.fitted; }
  // In place over the event and gap scores of one split; the inputs aligned with them.
  void apply(DetectorScores& scores, const FusionInputs& inputs) const;
  nlohmann::json to_json() const;  // {"event": {...}, "gap": {...}, "surprisal_passes": k}
  static ScoreFusion from_json(const nlohmann::json& j);
};

// 1 for an event whose item and action (when the set has actions) equal the previous event's in
// its sequence, else 0; aligned with the set's events.
std::vector<float> repeat_flags(const SequenceSet& set);

// Logistic regression of the head's labels (positive / negative codes as in detection_metrics.h;
// other codes left out) on logit(p) and the inputs (absent co-occurrence: zero), by Newton's method on standardised
// features with a small ridge penalty. Not fitted (fitted = false) when a class is missing.
FusionWeights fit_fusion(std::span<const float> scores, const FusionInputs& inputs, std::span<const int8_t> codes,
                         const HeadCodes& head);

}  // namespace seqmend
