// Repair of one split from detector scores: delete, replace, backfill, quarantine. Model-free: the
// detector stage supplies scores, thresholds and a predictor callback (the masked-item model), and
// gets back a NEW SequenceSet plus an edit log that undoes the repair exactly.
//
//   RepairConfig cfg;                                          // policies (YAML via visit)
//   Predictor predict = [&](const SequenceSet& in, const std::vector<PredictQuery>& q) { ... };
//   RepairResult r = repair_sequences(split_set, scores, thresholds, cfg, predict);
//   SequenceSet back = undo_repair(r.repaired, r.quarantine, r.edits);   // == split_set
//
// Per sequence s of the input (flagged = score >= threshold, experiments/detect/thresholds.h):
// - sequence score flagged and quarantine on → the sequence moves, untouched, to `quarantine`;
// - otherwise, for each event position p (events outside the last protect_last positions):
//   * gap score at p flagged and backfill on → the predictor's item for the gap before p is inserted
//     there when its probability >= backfill_min_prob, with timestamp ts[p-1] + (ts[p] - ts[p-1]) / 2
//     (ts[p] at p = 0; sorted order is kept) and the sequence's most common action (ties: lower code)
//     as a plausible action; label clean;
//   * event score at p flagged → replaced by the predicted item when replace is on, the prediction's
//     probability >= replace_min_prob and it differs from the event's item (timestamp, action and
//     label are kept); else deleted when delete_events is on; else kept. A prediction equal to the
//     event's own item keeps the event: the model agrees with it.
// Predictions are made on the input sequence (not on the partly repaired one), all in one call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/eval/detection_metrics.h"
#include "experiments/repair/edit_log.h"
#include "experiments/detect/thresholds.h"
#include "io/config.h"
#include "io/sequence_set.h"

namespace seqmend {

struct RepairConfig {
  bool delete_events = true;
  bool replace = true;
  double replace_min_prob = 0.5;
  bool backfill = true;
  double backfill_min_prob = 0.0;
  bool quarantine = true;
  int64_t protect_last = 0;
  // An edit whose expected precision (from the detector's calibration) is below this is not made
  // (experiments/repair/precision_floor.h); 0 = no floor. On by default: a repair that deletes
  // genuine events does harm no detection figure shows, and an edit kind the detector cannot make
  // precisely is better left undone (repair.json and the report say which and why).
  double min_expected_precision = 0.8;

  void visit(ConfigVisitor& v) {
    v.field("delete_events", delete_events, "delete events whose anomaly score reaches the event threshold");
    v.field("replace", replace, "replace a flagged event by the model's prediction instead of deleting it");
    v.field("replace_min_prob", replace_min_prob, "confidence a prediction needs to replace an event", 0.0, 1.0);
    v.field("backfill", backfill, "insert the model's prediction at gaps whose score reaches the gap threshold");
    v.field("backfill_min_prob", backfill_min_prob, "confidence a prediction needs to be inserted", 0.0, 1.0);
    v.field("quarantine", quarantine, "move sequences whose bot score reaches the threshold to the quarantine set");
    v.field("protect_last", protect_last,
            "last events of each sequence never edited, nor a gap before them (leave-one-out targets)", 0,
            int64_t(1) << 40);
    v.field("min_expected_precision", min_expected_precision,
            "an edit whose expected precision (the detector's calibration; for replace and backfill times the "
            "prediction's probability) is below this is not made; 0 = no floor (default 0.8)",
            0.0, 1.0);
  }
};

// A question for the model about the input set: the item at `position` of `sequence` (that event
// masked) or, for insert, an item between positions position-1 and position.
struct PredictQuery {
  int64_t sequence = 0;
  int64_t position = 0;
  bool insert = false;
};
struct Prediction {
  int32_t item = 0;  // the top predicted item, 1..V (0 = no prediction: the query is left alone)
  float probability = 0;
};
// Answers every query, in order. Called once per repair_sequences() call (never when replace and
// backfill are both off or nothing is flagged). A predictor that batches cuts the query list into
// consecutive batches of kPredictorBatch: data-parallel repair (experiments/repair/shared_predictor.h)
// relies on it to give each rank whole batches.
inline constexpr int64_t kPredictorBatch = 128;
using Predictor = std::function<std::vector<Prediction>(const SequenceSet& input,
                                                        const std::vector<PredictQuery>& queries)>;

struct RepairResult {
  SequenceSet repaired;     // the input minus quarantined sequences, with the edits applied
  SequenceSet quarantine;   // quarantined sequences, untouched, in input order
  std::vector<Edit> edits;  // by sequence, then position (an insert before its event's own edit)
};

// `input` is not modified. `scores` heads may be empty (that head flags nothing); num_items bounds
// predicted items (0 = no check). Throws seqmend::Error on size mismatches, NaN scores or a
// predictor that answers the wrong number of queries.
RepairResult repair_sequences(const SequenceSet& input, const DetectorScores& scores, const Thresholds& thresholds,
                              const RepairConfig& cfg, const Predictor& predictor, int64_t num_items = 0);

// Optional event columns of the input (a deleted event gets exactly these back).
struct EventColumns {
  bool timestamp = false, action = false, label = false;
  bool operator==(const EventColumns&) const = default;
};

// Re-creates the input of repair_sequences exactly (items, timestamps, actions, labels, users,
// order) from its three outputs. Throws naming the sequence and position when they disagree.
// `columns`: the input's event columns; needed only when neither set has an event left (every
// event deleted or quarantined), null → taken from the sets.
SequenceSet undo_repair(const SequenceSet& repaired, const SequenceSet& quarantine, const std::vector<Edit>& edits,
                        const EventColumns* columns = nullptr);

}  // namespace seqmend
