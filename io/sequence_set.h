// The in-memory form of a set of user sequences, laid out exactly like a shard on disk (CSR):
// sequence s owns events [offsets[s], offsets[s+1]). Ingest produces it, the simulator produces it,
// injectors and repair transform it, the shard writer stores it and the reader yields slices of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seqmend {

// Event action codes stored in `action` (int8). Ratings map to rating_bucket + r (r = 1..5).
enum Action : int8_t {
  kActionNone = 0,
  kActionView = 1,
  kActionClick = 2,
  kActionCart = 3,
  kActionBuy = 4,
  kActionFavorite = 5,
  kActionRatingBase = 10,  // rating r (1..5, rounded) is stored as 10 + r
};

// "view", "click", ... for the named codes; nullptr for any other (ratings included).
const char* action_name(int code);

// Anomaly label codes stored in `label` (per event) and `seq_label` (per sequence). 0 = clean.
enum AnomalyLabel : int8_t {
  kLabelClean = 0,
  kLabelNoiseClick = 1,     // an item outside the user's interests
  kLabelSubstitution = 2,   // an accidental substitute for the intended item
  kLabelBurstRepeat = 3,    // the same item repeated within seconds
  kLabelGapAfter = 4,       // one or more events were dropped just before this one (backfill target)
  kLabelBotUniform = 5,     // sequence-level: uniform random bot
  kLabelBotPopular = 6,     // sequence-level: popular-item flooding
  kLabelBotPush = 7,        // sequence-level: target-item pushing (shilling)
};

const char* anomaly_label_name(int code);

struct SequenceSet {
  std::vector<int64_t> offsets{0};   // (n + 1)
  std::vector<int32_t> item;         // (E) remapped item id, 1..V (0 is padding, never stored)
  std::vector<int64_t> timestamp;    // (E) seconds since the epoch, or empty when the source has none
  std::vector<int8_t> action;        // (E) Action code, or empty
  std::vector<int64_t> user;         // (n) remapped user id (index into the manifest's user table)
  std::vector<int8_t> label;         // (E) AnomalyLabel per event, or empty when unlabelled
  std::vector<int8_t> seq_label;     // (n) AnomalyLabel per sequence, or empty

  int64_t num_sequences() const { return int64_t(offsets.size()) - 1; }
  int64_t num_events() const { return offsets.back(); }
  int64_t length(int64_t s) const { return offsets[size_t(s) + 1] - offsets[size_t(s)]; }
  bool has_timestamps() const { return !timestamp.empty(); }
  bool has_actions() const { return !action.empty(); }
  bool has_labels() const { return !label.empty(); }

  // Appends one sequence; optional columns must be given iff the set already has them (or is empty).
  void append(int64_t user_id, const int32_t* items, int64_t n, const int64_t* ts = nullptr,
              const int8_t* act = nullptr, const int8_t* lab = nullptr, int8_t seq_lab = 0);
  // Appends sequence s of `from` — its first n events, all of them when n < 0 — with every column
  // `from` has.
  void append_from(const SequenceSet& from, int64_t s, int64_t n = -1);

  // Throws seqmend::Error naming the first inconsistency (column sizes, offsets, ids out of range).
  void validate(int64_t num_items) const;
};

// Events and sequences whose label is not clean (a set with an all-clean label column has none).
int64_t count_anomaly_labels(const SequenceSet& s);
// The set without its label and seq_label columns.
SequenceSet without_labels(SequenceSet s);

}  // namespace seqmend
