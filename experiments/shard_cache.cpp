#include "experiments/shard_cache.h"

#include <algorithm>
#include <limits>

#include "core/base/error.h"

namespace seqmend {

ShardCache::ShardCache(ShardSet set, std::string split, int64_t budget_bytes, Transform transform)
    : set_(std::move(set)), split_(std::move(split)), budget_(budget_bytes), transform_(std::move(transform)) {
  SEQ_CHECK(budget_ >= 0, "ShardCache: budget must be >= 0 bytes, got ", budget_);
}

int64_t ShardCache::decoded_bytes(const SequenceSet& s) {
  return int64_t(s.item.size() * sizeof(int32_t) + s.timestamp.size() * sizeof(int64_t) + s.action.size() +
                 s.label.size() + s.offsets.size() * sizeof(int64_t) + s.user.size() * sizeof(int64_t) +
                 s.seq_label.size());
}

void ShardCache::fetch(const std::vector<int64_t>& shards) {
  const SplitInfo& info = set_.split(split_);
  ++clock_;
  std::vector<int64_t> missing;
  for (int64_t k : shards) {
    SEQ_CHECK(k >= 0 && k < info.num_shards(), "ShardCache: shard ", k, " of ", split_, " outside [0, ",
              info.num_shards(), ")");
    auto it = entries_.find(k);
    if (it == entries_.end()) missing.push_back(k);
    else it->second.last_use = clock_;
  }
  // Room is made before each read (decoded_bytes_at_most), so the peak stays within the budget
  // whenever the request itself fits.
  auto evict_until = [&](int64_t room) {
    while (held_ + room > budget_) {
      auto victim = entries_.end();
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->second.last_use != clock_ &&
            (victim == entries_.end() || it->second.last_use < victim->second.last_use))
          victim = it;
      if (victim == entries_.end()) return;
      held_ -= victim->second.bytes;
      entries_.erase(victim);
    }
  };
  for (int64_t k : missing) {
    const ShardEntry& sh = info.shards[size_t(k)];
    evict_until(decoded_bytes_at_most(sh));
    ShardReader reader(set_, split_, {k});
    Entry e;
    reader.next(e.data, std::numeric_limits<int64_t>::max());  // the whole shard
    SEQ_CHECK(e.data.num_sequences() == sh.sequences, "ShardCache: shard ", shard_file_name(split_, k), " of ",
              set_.dir(), " gave ", e.data.num_sequences(), " sequences, the manifest lists ", sh.sequences);
    if (transform_) e.data = transform_(std::move(e.data));
    e.bytes = decoded_bytes(e.data);
    e.last_use = clock_;
    ++reads_;
    bytes_read_ += sh.bytes;
    held_ += e.bytes;
    peak_ = std::max(peak_, held_);
    entries_.emplace(k, std::move(e));
  }
  evict_until(0);
}

const SequenceSet& ShardCache::shard(int64_t k) const {
  auto it = entries_.find(k);
  SEQ_CHECK(it != entries_.end(), "ShardCache: shard ", k, " of ", split_, " was not fetched");
  return it->second.data;
}

}  // namespace seqmend
