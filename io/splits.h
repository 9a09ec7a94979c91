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

// Users with fewer than 3 events are left out of all three splits (counted in info).
SplitSets split_leave_one_out(const SequenceSet& all);

// Needs timestamps. Cut times come from opts.valid_time/test_time, or else from the quantiles of
// all event times at 1 - valid_fraction - test_fraction and 1 - test_fraction.
SplitSets split_temporal(const SequenceSet& all, const IngestSplitOptions& opts);

SplitSets make_splits(const SequenceSet& all, const IngestSplitOptions& opts);

}  // namespace seqmend
