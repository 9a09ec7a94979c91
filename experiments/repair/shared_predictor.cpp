#include "experiments/repair/shared_predictor.h"

#include <cstring>

#include "core/base/error.h"
#include "experiments/run/owned_values.h"

namespace seqmend {

Predictor shared_predictor(Predictor inner, DataParallelGroup& group) {
  return [inner = std::move(inner), &group](const SequenceSet& set, const std::vector<PredictQuery>& queries) {
    const size_t n = queries.size(), chunk = size_t(kPredictorBatch);
    std::vector<PredictQuery> mine;
    std::vector<size_t> at;  // position of each of `mine` in `queries`
    for (size_t c0 = 0; c0 < n; c0 += chunk) {
      if (!owns_batch(&group, int64_t(c0 / chunk))) continue;
      for (size_t q = c0; q < std::min(n, c0 + chunk); ++q) {
        mine.push_back(queries[q]);
        at.push_back(q);
      }
    }
    // Owned chunks are whole batches, and only the last chunk of all can be short, so the inner
    // predictor cuts `mine` into the same batches one process cuts `queries` into.
    const std::vector<Prediction> got = mine.empty() ? std::vector<Prediction>{} : inner(set, mine);
    SEQ_CHECK(got.size() == mine.size(), "repair: the predictor answered ", got.size(), " of ", mine.size(),
              " queries");
    // Items travel as the bit patterns of floats: merge_owned sums bit patterns, one nonzero per slot.
    std::vector<float> item(n, 0.0f), probability(n, 0.0f);
    for (size_t j = 0; j < got.size(); ++j) {
      std::memcpy(&item[at[j]], &got[j].item, sizeof(float));
      probability[at[j]] = got[j].probability;
    }
    merge_owned(group, item);
    merge_owned(group, probability);
    std::vector<Prediction> out(n);
    for (size_t q = 0; q < n; ++q) {
      std::memcpy(&out[q].item, &item[q], sizeof(float));
      out[q].probability = probability[q];
    }
    return out;
  };
}

}  // namespace seqmend
