// Train/validation/test splits of cleaned sequences, laid out so evaluation never sees a target
// during training. Every split stores whole prefixes of the same user's sequence, and in `valid` and
// `test` the target is always the last event of each stored sequence:
//   leave_one_out (per user, sequence e_1..e_L, L >= 3):
//     train = e_1..e_{L-2}   valid = e_1..e_{L-1} (target e_{L-1})   test = e_1..e_L (target e_L)
//   temporal (global cut times t_valid <= t_test):
//     train = events before t_valid
//     valid = events before t_valid + the user's first event in [t_valid, t_test) (the target)
//     test  = events before t_test  + the user's first event at or after t_test (the target)
// so no event at or after t_valid is ever in train, and the test target never appears in valid.
#pragma once

#include <nlohmann/json.hpp>

#include "io/ingest_options.h"
#include "io/sequence_set.h"

namespace seqmend {

struct SplitSets {
  SequenceSet train, valid, test;
  nlohmann::json info;  // method, what each split holds, cut times, counts (goes to manifest extra.split)
};

// Splits sequences of `all` a range at a time, so a writer can take each chunk and the three splits
// (together about three times the data under leave-one-out) never sit in memory at once.
class SplitBuilder {
 public:
  // Fixes the method and, for temporal, the cut times: opts.valid_time/test_time, or else the
  // quantiles of all event times at 1 - valid_fraction - test_fraction and 1 - test_fraction.
  // Throws when no user would be in train (leave-one-out: nobody has 3 events; temporal: no event
  // before the validation cut, or no timestamps at all).
  SplitBuilder(const SequenceSet& all, const IngestSplitOptions& opts);

  // Appends the parts of sequences [begin, end) of `all` to the three sets of `out`; with a null
  // `out` only counts them (so the counts can go into a manifest before any shard is written).
  void add(int64_t begin, int64_t end, SplitSets* out);
  // Method, layout, cut times and counts over everything added so far.
  nlohmann::json info() const;

 private:
  const SequenceSet& all_;
  bool temporal_ = false;
  int64_t valid_time_ = 0, test_time_ = 0;
  int64_t dropped_ = 0;  // leave-one-out: users with fewer than 3 events
  int64_t sequences_[3] = {}, events_[3] = {};
};

// All of `all` at once (users with fewer than 3 events are left out of leave-one-out; counted in info).
SplitSets make_splits(const SequenceSet& all, const IngestSplitOptions& opts);

}  // namespace seqmend
