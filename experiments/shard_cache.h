// Decoded shards of one split, held within a memory budget: the loader's storage when a rank must
// not hold the whole split (experiments/data_parallel_loader.h, cache mode). Shards are read on
// demand, transformed once (e.g. canaries injected: a per-sequence function, so the same whichever
// shards share the cache), and dropped least recently used first; the shards a request needs are
// never dropped while serving it, so a request for more than the budget holds is served and the
// overshoot counted in peak_bytes().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/sequence_set.h"
#include "io/shard_set.h"

namespace seqmend {

class ShardCache {
 public:
  using Transform = std::function<SequenceSet(SequenceSet)>;
  ShardCache(ShardSet set, std::string split, int64_t budget_bytes, Transform transform = {});

  // Makes every shard of `shards` present (reading the missing ones), then drops others, least
  // recently used first, until the budget holds or only these remain. References returned by
  // shard() stay valid until the next fetch().
  void fetch(const std::vector<int64_t>& shards);
  const SequenceSet& shard(int64_t k) const;  // must have been fetched
  // Applied to every shard read from now on (set it before the first fetch).
  void set_transform(Transform t) { transform_ = std::move(t); }

  int64_t bytes_held() const { return held_; }
  int64_t peak_bytes() const { return peak_; }
  int64_t shards_read() const { return reads_; }
  int64_t bytes_read() const { return bytes_read_; }  // shard files' sizes, from the manifest

  // What a decoded SequenceSet occupies.
  static int64_t decoded_bytes(const SequenceSet& s);
  // At most what shard `sh` occupies decoded, from the manifest's counts (14 bytes per event: item,
  // timestamp, action, label; 17 per sequence: offset, user, sequence label).
  static int64_t decoded_bytes_at_most(const ShardEntry& sh) { return sh.events * 14 + sh.sequences * 17; }

 private:
  struct Entry {
    SequenceSet data;
    int64_t bytes = 0;
    uint64_t last_use = 0;
  };
  ShardSet set_;
  std::string split_;
  int64_t budget_ = 0;
  Transform transform_;
  std::map<int64_t, Entry> entries_;
  uint64_t clock_ = 0;
  int64_t held_ = 0, peak_ = 0, reads_ = 0, bytes_read_ = 0;
};

}  // namespace seqmend
