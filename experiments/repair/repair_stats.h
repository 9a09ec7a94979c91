// What a repair did and, where ground truth exists, how often it was right: counts by operation,
// precision of deletions/replacements/backfills/quarantines against the injected labels, and the
// accuracy of backfilled and replaced items against `seqmend simulate`'s repair_truth.tsv.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/repair/repair.h"

namespace seqmend {

// repair_truth.tsv (experiments/cli/simulate_stage.h): keyed by (user, position in the user's full
// sequence). Train/valid/test hold prefixes of that sequence, so a position means the same event
// in every split.
struct RepairTruth {
  std::map<std::pair<int64_t, int64_t>, std::vector<int32_t>> dropped;  // items deleted before that event
  std::map<std::pair<int64_t, int64_t>, int32_t> substituted;           // the item the event replaced
};
RepairTruth load_repair_truth(const std::string& path);  // throws naming the file and line
RepairTruth parse_repair_truth(const std::string& text, const std::string& what);

// JSON for the report:
//   counts: {delete, replace, insert, quarantine, events_in, events_out, sequences_in, repaired_sequences}
//   labels (when `input` has labels): deletes/replaces on true anomalies (noise, substitution, burst),
//     their precision, recall of anomalous events removed or replaced, inserts at true gaps
//     (dropped_before events) and their precision, gap recall, quarantine precision/recall vs bots;
//   truth (when given): inserts whose item is one of the items dropped at that gap (backfill
//     accuracy over inserts at true gaps), replacements restoring the substituted item.
// Undefined ratios are null.
nlohmann::json repair_stats(const SequenceSet& input, const RepairResult& result, const RepairTruth* truth = nullptr);

}  // namespace seqmend
