// Unsupervised anomaly score from the pretrained masked-item model, needing no labels: the
// surprisal −log p(item_i | the sequence with event i masked) of every event.
//
// Exact leave-one-out surprisal costs one forward pass per event (O(T) per sequence). Instead pass
// r of k masks every position j ≡ r (mod k) of a window at once and reads the surprisal of all of
// them: k forward passes per batch whatever the sequence lengths. The approximation: event i is
// scored with its k-spaced neighbours (i ± k, i ± 2k, ...) masked too, so the context lacks 1/k of
// the events — close to what the model saw in cloze pretraining (mask_prob 0.2 masks 1 in 5), and
// never an adjacent event for k >= 2. Sequences longer than max_len are cut into consecutive
// windows of max_len events; the first events of a later window see no context before the cut.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model.h"
#include "io/sequence_set.h"

namespace seqmend {

class DataParallelGroup;

struct SurprisalOptions {
  int passes = 8;            // k: interleaved masking passes per batch
  int64_t batch_size = 128;  // windows per batch
  // With a group (collective): each rank scores every size()-th batch and the results are merged
  // (experiments/run/owned_values.h), the same bits on every rank as one process alone.
  DataParallelGroup* group = nullptr;
};

struct SurprisalResult {
  std::vector<float> surprisal;  // (E) nats, aligned with set.item
  int64_t forward_passes = 0;    // encoder forward passes run (k per batch at most), all ranks
  int64_t batches = 0;
};

SurprisalResult event_surprisal(ItemTransformer& model, const SequenceSet& set, const SurprisalOptions& opt = {});

// Consecutive windows [first, first + len) of at most max_len events covering every event of
// `set`, in order: (sequence, first event index within the sequence, length).
struct EventWindow {
  int64_t seq = 0, first = 0, len = 0;
};
std::vector<EventWindow> event_windows(const SequenceSet& set, int max_len);

// The window's events as a SequenceView.
SequenceView window_view(const SequenceSet& set, const EventWindow& w, int64_t sample_id);

}  // namespace seqmend
