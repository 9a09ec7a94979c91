#include "experiments/detect/fusion_inputs.h"

#include "core/base/error.h"
#include "experiments/detect/item_cooccurrence.h"
#include "experiments/detect/time_features.h"

namespace seqmend {

void FusionInputs::add(std::string name, std::vector<float> values) {
  SEQ_CHECK(find(name) == nullptr, "fusion inputs: feature '", name, "' added twice");
  if (!features.empty() && !values.empty())
    SEQ_CHECK(values.size() == features.front().values.size(), "fusion inputs: feature '", name, "' has ",
              values.size(), " values, '", features.front().name, "' ", features.front().values.size());
  if (!values.empty()) features.push_back({std::move(name), std::move(values)});
}

const std::vector<float>* FusionInputs::find(const std::string& name) const {
  for (const FusionInput& f : features)
    if (f.name == name) return &f.values;
  return nullptr;
}

std::vector<float> repeat_flags(const SequenceSet& set) {
  std::vector<float> r(size_t(set.num_events()), 0.0f);
  for (int64_t q = 0; q < set.num_sequences(); ++q)
    for (int64_t e = set.offsets[size_t(q)] + 1; e < set.offsets[size_t(q) + 1]; ++e) {
      const bool same_item = set.item[size_t(e)] == set.item[size_t(e) - 1];
      const bool same_action = !set.has_actions() || set.action[size_t(e)] == set.action[size_t(e) - 1];
      r[size_t(e)] = same_item && same_action ? 1.0f : 0.0f;
    }
  return r;
}

FusionInputs fusion_inputs(const SequenceSet& split, std::vector<float> surprisal, const FusionFeatureSet& which,
                           int64_t num_items) {
  SEQ_CHECK(int64_t(surprisal.size()) == split.num_events(), "fusion inputs: ", surprisal.size(),
            " surprisal values for ", split.num_events(), " events");
  FusionInputs in;
  in.add("surprisal", std::move(surprisal));
  in.add("repeat", repeat_flags(split));
  if (which.cooccurrence) {
    CooccurrenceFeatures co = cooccurrence_features(split, num_items);
    in.add("cosine_mean", std::move(co.cosine_mean));
    in.add("cosine_top", std::move(co.cosine_top));
    in.add("log_count", std::move(co.log_count));
    in.add("jaccard_near", std::move(co.jaccard_near));
  }
  if (which.time) {
    TimeFeatures t = time_features(split);
    in.add("log_gap_before", std::move(t.log_gap_before));
    in.add("log_gap_after", std::move(t.log_gap_after));
    in.add("alone", std::move(t.alone));
    in.add("gap_vs_user", std::move(t.gap_vs_user));
  }
  return in;
}

}  // namespace seqmend
