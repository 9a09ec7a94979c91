// A floor on the expected precision of every edit a repair makes: an edit whose expected precision
// is below it is not made. The detector's calibration says how precise each head's flags are at its
// threshold (HeadPrecision); an edit's expected precision follows from that:
//
//   delete      the event head's: a flagged event is an anomaly with that probability
//   replace     the event head's × the prediction's probability: the event must be an anomaly and
//               the predicted item the one that belonged there → replace_min_prob >= floor / p_event
//   backfill    the gap head's × the prediction's probability → backfill_min_prob >= floor / p_gap
//   quarantine  the sequence head's
//
// (The probabilities are the masked-item model's, taken as calibrated.) The floor narrows the
// repair's policies before it runs; an edit kind that cannot reach it — its head below the floor,
// or its head's precision unknown — is turned off, so the model is not even asked for it. On the
// ML-100K noisy log the gap head's flags are 0.06 precise: with a floor of 0.8 no gap is backfilled
// and none is sent to the model, where before every flagged gap was (deletions, at 0.8, stay).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "experiments/detect/thresholds.h"
#include "experiments/repair/repair.h"

namespace seqmend {

// Narrows `cfg` to the edits whose expected precision can reach cfg.min_expected_precision (0 = no
// floor: `cfg` is left as it is). Returns what was decided, for repair.json: the floor, and per
// edit kind its expected precision (null when unknown), whether it stays on (and why not), and the
// probability a prediction needs (replace, backfill).
nlohmann::json apply_precision_floor(const HeadPrecision& expected, RepairConfig& cfg);

// What apply_precision_floor decided, in words, for the console and the report: "delete on (head
// 0.95), backfill off (head 0.06; head below the floor), ..."; "" when there was no floor.
std::string precision_floor_summary(const nlohmann::json& decision);

}  // namespace seqmend
