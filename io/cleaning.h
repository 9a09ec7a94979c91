// Cleaning steps between the parsed log and the sequences. Each takes the EventTable, changes it in
// place and returns a JSON record of what it did (what it removed and why), which ingest collects in
// its report. Order used by ingest (io/ingest.cpp): keep_actions → sort → dedupe → ratings → k-core →
// sequence lengths → build_sequences.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/event_table.h"
#include "io/sequence_set.h"

namespace seqmend {

// Keeps rows whose action name is listed (all rows when `names` is empty).
nlohmann::json filter_actions(EventTable& t, const std::vector<std::string>& names);

// Orders rows by (user, timestamp, original row order): rows of one user with equal timestamps keep
// the order they had in the file, so sorting is deterministic and reproduces the log's own order
// for ties. Users are renumbered so that the dense index order is the final user order: ascending
// original id for numeric ids, first appearance for token ids. Without timestamps (seqline) only
// the user grouping changes.
nlohmann::json sort_events(EventTable& t);

// Drops exact duplicates: rows equal in user, item, timestamp, action and rating to an earlier row.
// Needs sort_events first. Without timestamps nothing is a duplicate (repeats are real behaviour).
nlohmann::json drop_duplicates(EventTable& t);

// mode "ignore": drop the rating column; "threshold": keep rows with rating >= threshold (then drop
// the column); "action": store the rating as the action code 10 + r, r rounded and clamped to 1..5.
nlohmann::json apply_ratings(EventTable& t, const std::string& mode, double threshold);

// Iterates to the fixed point where every user has >= min_user events and every item >= min_item
// events (event counts, repeats included). 0 disables a side.
nlohmann::json k_core(EventTable& t, int64_t min_user, int64_t min_item);

// Drops users with fewer than min_len events, then keeps each user's max_len most recent (0 = all).
// Needs sort_events first.
nlohmann::json clip_lengths(EventTable& t, int64_t min_len, int64_t max_len);

// Distinct users and items present in the table.
int64_t count_distinct_users(const EventTable& t);
int64_t count_distinct_items(const EventTable& t);

// The cleaned table as one sequence per user (sorted table expected). Users get ids 0..U-1 in
// table order; items get ids 1..V (0 = padding) by first appearance in that order ("first_appearance")
// or by descending event count with first appearance breaking ties ("frequency").
struct BuiltSequences {
  SequenceSet sequences;
  std::vector<std::string> item_ids;  // (V) original id of item i + 1
  std::vector<int64_t> item_counts;   // (V) events per item
  std::vector<std::string> user_ids;  // (U) original id of user u
};
BuiltSequences build_sequences(const EventTable& t, const std::string& item_order);

}  // namespace seqmend
