// The parsed interaction log before it becomes sequences: one row per event, columnar, in the order
// the rows were read (row order is the final tie-break when two events of a user share a timestamp).
// User and item ids are already interned to dense indices in order of first appearance; the original
// ids live in the two vocabularies so the manifest can map model ids back to the source.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace seqmend {

// Original ids of users or items, indexed by the dense index used in EventTable. Numeric ids are kept
// as integers (the common case, and what the hash map is fast for); `tokens` is used instead when the
// source ids are arbitrary strings (options: string_ids).
struct IdVocab {
  bool is_token = false;
  std::vector<int64_t> numeric;     // (U) original numeric id, when !is_token
  std::vector<std::string> tokens;  // (U) original token, when is_token

  int64_t size() const { return is_token ? int64_t(tokens.size()) : int64_t(numeric.size()); }
  std::string name(int64_t i) const {
    return is_token ? tokens[size_t(i)] : std::to_string(numeric[size_t(i)]);
  }
};

struct EventTable {
  std::vector<int32_t> user;       // (E) dense user index into `users`
  std::vector<int32_t> item;       // (E) dense item index into `items`
  std::vector<int64_t> timestamp;  // (E) seconds since the epoch; empty when the source has no times
  std::vector<int8_t> action;      // (E) Action code; empty when the source has no action column
  std::vector<float> rating;       // (E) explicit rating; empty when the source has none
  IdVocab users, items;

  int64_t size() const { return int64_t(user.size()); }
  bool has_timestamps() const { return !timestamp.empty(); }
  bool has_actions() const { return !action.empty(); }
  bool has_ratings() const { return !rating.empty(); }

  // Keeps rows whose keep[i] is nonzero, preserving their order. (E) → (E')
  void compact(const std::vector<uint8_t>& keep);
  // Reorders rows: new row i is old row perm[i].
  void permute(const std::vector<int64_t>& perm);
};

}  // namespace seqmend
