// When an event happened relative to its neighbours and to its user's usual pace, from the log's
// timestamps alone (no labels, no model). Two things leave marks in time that items do not: a
// stray click sits at a second of its own between a user's bursts of activity, and where events
// are missing the gap before the next one is longer than the user's usual step. The item encoder
// sees time only as a bucketed gap embedding and learns little from it; the score fusion's
// regression (experiments/detect/score_fusion.h) reads these directly and weighs them by what the
// calibration data shows, so a log whose noise keeps real timestamps gives them little weight.
//
//   TimeFeatures f = time_features(set);   // all empty when the set has no timestamps
//   f.alone[e]         // 1 when neither neighbour shares event e's second
//   f.gap_vs_user[e]   // log gap before e minus the log of the user's median nonzero gap
#pragma once

#include <vector>

#include "io/sequence_set.h"

namespace seqmend {

struct TimeFeatures {
  std::vector<float> log_gap_before;  // (E) log(1 + seconds since the previous event); first: the sequence's median
  std::vector<float> log_gap_after;   // (E) log(1 + seconds to the next event); last event: 0
  std::vector<float> alone;           // (E) 1 when no neighbour has the same timestamp
  std::vector<float> gap_vs_user;     // (E) log_gap_before − log(1 + the sequence's median nonzero gap)
};

// Features for every event of `set`; backwards clocks count as gap 0.
TimeFeatures time_features(const SequenceSet& set);

}  // namespace seqmend
