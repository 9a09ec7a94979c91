// How well an event's item fits the rest of its user's sequence, judged by the whole log: item-item
// co-occurrence counted over sequences (how many users hold both items), each sequence's own
// contribution left out when it is scored. A random item slipped into a sequence rarely shares
// users with the sequence's other items; a genuine one does. Computed from the log being scored
// alone (no labels, no model), so it is as available on a noisy log as on a clean one, and the
// noise in the log barely moves it: a noise item adds one user to few pairs.
//
//   CooccurrenceFeatures f = cooccurrence_features(set, num_items);
//   f.cosine_top[e]   // mean of the k largest similarities of event e's item to its sequence's others
//   f.jaccard_near[e] // mean Jaccard similarity to the events within ±window positions
//
// Similarity = cosine over users, co(x, y) / sqrt(n(x) n(y)), or Jaccard, co / (n(x) + n(y) − co),
// counts without the scored sequence. The near window asks whether the item fits its neighbours: an
// item slipped in fits neither its neighbours nor the whole history, a genuine change of interest fits
// the neighbours that follow it.
// A sequence contributes its last `max_items` distinct items to the counts (and is scored against
// the same), which bounds the cost at max_items² per sequence.
#pragma once

#include <cstdint>
#include <vector>

#include "io/sequence_set.h"

namespace seqmend {

struct CooccurrenceFeatures {
  std::vector<float> cosine_mean;  // (E) mean similarity to the sequence's other distinct items
  std::vector<float> cosine_top;   // (E) mean of the top_k similarities
  std::vector<float> log_count;    // (E) log(1 + users holding the item, this one left out)
  std::vector<float> jaccard_near; // (E) mean Jaccard similarity to the items within ±window positions
};

struct CooccurrenceOptions {
  int64_t top_k = 10;
  int64_t window = 5;
  int64_t max_items = 256;
};

// Features for every event of `set`, counts taken over `set` itself. Item ids in [1, num_items].
CooccurrenceFeatures cooccurrence_features(const SequenceSet& set, int64_t num_items,
                                           const CooccurrenceOptions& options = {});

}  // namespace seqmend
