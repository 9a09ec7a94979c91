#include "io/event_table.h"

#include "core/base/error.h"

namespace seqmend {
namespace {

template <typename T>
void compact_column(std::vector<T>& col, const std::vector<uint8_t>& keep) {
  if (col.empty()) return;
  size_t w = 0;
  for (size_t r = 0; r < col.size(); ++r)
    if (keep[r]) col[w++] = col[r];
  col.resize(w);
}

template <typename T>
void permute_column(std::vector<T>& col, const std::vector<int64_t>& perm) {
  if (col.empty()) return;
  std::vector<T> out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[i] = col[size_t(perm[i])];
  col.swap(out);
}

}  // namespace

void EventTable::compact(const std::vector<uint8_t>& keep) {
  SEQ_CHECK(keep.size() == user.size(), "EventTable::compact: mask has ", keep.size(), " entries for ",
            user.size(), " rows");
  compact_column(user, keep);
  compact_column(item, keep);
  compact_column(timestamp, keep);
  compact_column(action, keep);
  compact_column(rating, keep);
}

void EventTable::permute(const std::vector<int64_t>& perm) {
  SEQ_CHECK(perm.size() == user.size(), "EventTable::permute: permutation has ", perm.size(), " entries for ",
            user.size(), " rows");
  permute_column(user, perm);
  permute_column(item, perm);
  permute_column(timestamp, perm);
  permute_column(action, perm);
  permute_column(rating, perm);
}

}  // namespace seqmend
