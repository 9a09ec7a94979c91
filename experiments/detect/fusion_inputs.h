// The per-event features score fusion (experiments/detect/score_fusion.h) reads besides a head's
// probability, by name, aligned with one split's events. Fine-tuning builds them for the
// calibration split and detection for the split it scores, both through `fusion_inputs`, so the
// two cannot drift apart.
//
//   FusionInputs in = fusion_inputs(split, std::move(surprisal), fusion.features, num_items);
//   const std::vector<float>* s = in.find("surprisal");
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/sequence_set.h"

namespace seqmend {

struct FusionInput {
  std::string name;
  std::vector<float> values;  // one per event
};

struct FusionInputs {
  std::vector<FusionInput> features;

  // Adds a feature; an empty `values` (the data cannot give it, e.g. no timestamps) is left out.
  void add(std::string name, std::vector<float> values);
  const std::vector<float>* find(const std::string& name) const;  // nullptr when absent
};

// Which feature groups a fusion reads; written beside its weights.
struct FusionFeatureSet {
  int surprisal_passes = 0;   // masking passes the surprisal was computed with; detection must match
  bool cooccurrence = false;  // experiments/detect/item_cooccurrence.h: cosine_mean, cosine_top, log_count, jaccard_near
  bool time = false;          // experiments/detect/time_features.h: log_gap_before, log_gap_after, alone, gap_vs_user
};

// 1 for an event whose item and action (when the set has actions) equal the previous event's in
// its sequence, else 0; aligned with the set's events.
std::vector<float> repeat_flags(const SequenceSet& set);

// "surprisal" and "repeat", then the groups `which` names, computed over `split` itself. Item ids
// in [1, num_items].
FusionInputs fusion_inputs(const SequenceSet& split, std::vector<float> surprisal, const FusionFeatureSet& which,
                           int64_t num_items);

}  // namespace seqmend
