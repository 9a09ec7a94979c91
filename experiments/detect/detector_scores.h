// Scoring a whole sequence set with a fine-tuned detector (core/detector.h), the work of `seqmend
// detect` and of the evaluation of detection.
#pragma once

#include <cstdint>

#include "core/detector.h"
#include "experiments/eval/detection_metrics.h"
#include "io/sequence_set.h"

namespace seqmend {

class DataParallelGroup;

// Detector probabilities for every event and sequence of `set`: sequences longer than max_len are
// cut into consecutive windows (experiments/detect/surprisal.h); a sequence's score is the length-weighted
// mean of its windows' scores.
// With a group (collective): each rank scores every size()-th batch, the results merged
// (experiments/run/owned_values.h) — the same bits on every rank as one process alone.
DetectorScores detector_scores(Detector& det, const SequenceSet& set, int64_t batch_size = 128,
                               DataParallelGroup* group = nullptr);

}  // namespace seqmend
