// Decoded shards of one split, held within a memory budget: the loader's storage when a rank must
// not hold the whole split (experiments/train/data_parallel_loader.h, cache mode). Shards are read on
// demand, transformed once (e.g. canaries injected: a per-sequence function, so the same whichever
// shards share the cache), and dropped least recently used first; the shards a request needs are
// never dropped while serving it, so a request for more than the budget holds is served and the
// overshoot counted in peak_bytes().
//
// Read-ahead: prefetch() hands shards to the cache's own thread, which reads and transforms them
// exactly as fetch() would, so that a rank's next batch loads while it computes on this one. A
// read-ahead only starts when it fits the budget beside the shards the last fetch() served (its
// room is reserved at the manifest's upper bound until it lands); fetch() waits for a read-ahead of
// a shard it needs instead of reading it again, and a read-ahead's error is thrown by the fetch()
// that needs that shard. Only timing changes: the data served is what a synchronous read gives.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/sequence_set.h"
#include "io/shard_set.h"

namespace seqmend {

class ShardCache {
 public:
  using Transform = std::function<SequenceSet(SequenceSet)>;
  ShardCache(ShardSet set, std::string split, int64_t budget_bytes, Transform transform = {});
  ~ShardCache();  // a read-ahead under way finishes first (an HDF5 read cannot be interrupted)
  ShardCache(const ShardCache&) = delete;
  ShardCache& operator=(const ShardCache&) = delete;

  // Makes every shard of `shards` present (reading the missing ones), then drops others, least
  // recently used first, until the budget holds or only these remain. References returned by
  // shard() stay valid until the next fetch().
  void fetch(const std::vector<int64_t>& shards);
  // Starts reading, on the cache's thread, each of `shards` that is neither held nor on its way, as
  // long as it fits the budget without dropping a shard the last fetch() (or an earlier prefetch
  // since) asked for; one that does not fit is skipped. Never blocks on a read. Shards already held
  // are marked as just used, so later read-aheads do not push them out.
  void prefetch(const std::vector<int64_t>& shards);
  const SequenceSet& shard(int64_t k) const;  // must have been fetched
  // Applied to every shard read from now on (set it before the first fetch). It runs on the cache's
  // thread too, at times beside a synchronous read's: it must not touch shared mutable state.
  // Read-aheads under way are waited for and dropped, since they used the old transform.
  void set_transform(Transform t);

  int64_t bytes_held() const { return held_; }  // read-aheads under way count at their upper bound
  int64_t peak_bytes() const { return peak_; }
  int64_t shards_read() const { return reads_; }  // read-aheads counted once they land
  int64_t bytes_read() const { return bytes_read_; }  // shard files' sizes, from the manifest
  int64_t prefetch_hits() const { return hits_; }     // shards a fetch() found read ahead

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
    bool ahead = false;  // read ahead and not yet asked for by a fetch()
  };
  // A read-ahead not yet moved into entries_. state, data and error are guarded by mu_; the worker
  // only touches its own job, and the calling thread never erases a job that is being read.
  struct Job {
    enum State { queued, reading, done } state = queued;
    SequenceSet data;
    std::exception_ptr error;  // a failed read stays here until a fetch() needs the shard
    int64_t reserved = 0;      // room held in held_ while queued or reading
    uint64_t stamp = 0;        // last_use the shard gets when it lands
  };

  static int64_t room_for(const ShardEntry& sh);
  SequenceSet read(int64_t k) const;  // one shard, checked and transformed; any thread
  void worker();
  void take_finished();              // finished read-aheads → entries_ (calling thread)
  bool drop_oldest();                // least recently used shard not marked at clock_; false if none
  bool cancel_newest_queued();       // gives a queued read-ahead's room back
  void drain();                      // no read-ahead left: queued ones dropped, running ones awaited
  void account(int64_t bytes_delta);

  ShardSet set_;
  std::string split_;
  int64_t budget_ = 0;
  Transform transform_;
  std::map<int64_t, Entry> entries_;
  uint64_t clock_ = 0;
  int64_t held_ = 0, peak_ = 0, reads_ = 0, bytes_read_ = 0, hits_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Job> jobs_;
  std::deque<int64_t> queue_;  // queued jobs, oldest first
  bool stop_ = false;
  std::thread thread_;  // started by the first prefetch()
};

}  // namespace seqmend
