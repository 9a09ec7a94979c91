#include "experiments/train/shard_cache.h"

#include <algorithm>
#include <limits>

#include "core/base/error.h"

namespace seqmend {

ShardCache::ShardCache(ShardSet set, std::string split, int64_t budget_bytes, Transform transform)
    : set_(std::move(set)), split_(std::move(split)), budget_(budget_bytes), transform_(std::move(transform)) {
  SEQ_CHECK(budget_ >= 0, "ShardCache: budget must be >= 0 bytes, got ", budget_);
}

ShardCache::~ShardCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t ShardCache::decoded_bytes(const SequenceSet& s) {
  return int64_t(s.item.size() * sizeof(int32_t) + s.timestamp.size() * sizeof(int64_t) + s.action.size() +
                 s.label.size() + s.offsets.size() * sizeof(int64_t) + s.user.size() * sizeof(int64_t) +
                 s.seq_label.size());
}

// decoded_bytes_at_most plus the closing offset it leaves out: what a shard occupies at most once
// read, unless the transform lengthens its sequences.
int64_t ShardCache::room_for(const ShardEntry& sh) { return decoded_bytes_at_most(sh) + int64_t(sizeof(int64_t)); }

void ShardCache::account(int64_t bytes_delta) {
  held_ += bytes_delta;
  peak_ = std::max(peak_, held_);
}

SequenceSet ShardCache::read(int64_t k) const {
  const ShardEntry& sh = set_.split(split_).shards[size_t(k)];
  ShardReader reader(set_, split_, {k});
  SequenceSet data;
  reader.next(data, std::numeric_limits<int64_t>::max());  // the whole shard
  SEQ_CHECK(data.num_sequences() == sh.sequences, "ShardCache: shard ", shard_file_name(split_, k), " of ",
            set_.dir(), " gave ", data.num_sequences(), " sequences, the manifest lists ", sh.sequences);
  if (transform_) data = transform_(std::move(data));
  return data;
}

void ShardCache::worker() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    const int64_t k = queue_.front();
    queue_.pop_front();
    Job& job = jobs_.at(k);  // map nodes stay put while other jobs come and go
    job.state = Job::reading;
    lock.unlock();
    SequenceSet data;
    std::exception_ptr error;
    try {
      data = read(k);
    } catch (...) {  // kept for the fetch() that needs the shard: a thread must not throw
      error = std::current_exception();
    }
    lock.lock();
    job.data = std::move(data);
    job.error = error;
    job.state = Job::done;
    cv_.notify_all();
  }
}

void ShardCache::take_finished() {
  const SplitInfo& info = set_.split(split_);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& j = it->second;
    if (j.state != Job::done) {
      ++it;
    } else if (j.error) {  // its room is free; the error waits for a fetch() of the shard
      account(-j.reserved);
      j.reserved = 0;
      ++it;
    } else {
      Entry e;
      e.data = std::move(j.data);
      e.bytes = decoded_bytes(e.data);
      e.last_use = j.stamp;
      e.ahead = true;
      account(e.bytes - j.reserved);
      ++reads_;
      bytes_read_ += info.shards[size_t(it->first)].bytes;
      entries_.emplace(it->first, std::move(e));
      it = jobs_.erase(it);
    }
  }
}

bool ShardCache::drop_oldest() {
  auto victim = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->second.last_use != clock_ && (victim == entries_.end() || it->second.last_use < victim->second.last_use))
      victim = it;
  if (victim == entries_.end()) return false;
  held_ -= victim->second.bytes;
  entries_.erase(victim);
  return true;
}

bool ShardCache::cancel_newest_queued() {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.empty()) return false;
  auto it = jobs_.find(queue_.back());
  queue_.pop_back();
  account(-it->second.reserved);
  jobs_.erase(it);
  return true;
}

void ShardCache::drain() {
  std::unique_lock<std::mutex> lock(mu_);
  for (int64_t k : queue_) jobs_.erase(k);
  queue_.clear();
  cv_.wait(lock, [&] {
    return std::none_of(jobs_.begin(), jobs_.end(), [](const auto& kv) { return kv.second.state == Job::reading; });
  });
  jobs_.clear();
  lock.unlock();
  held_ = 0;
  for (const auto& kv : entries_) held_ += kv.second.bytes;
}

void ShardCache::set_transform(Transform t) {
  drain();
  transform_ = std::move(t);
}

void ShardCache::fetch(const std::vector<int64_t>& request) {
  const SplitInfo& info = set_.split(split_);
  for (int64_t k : request)
    SEQ_CHECK(k >= 0 && k < info.num_shards(), "ShardCache: shard ", k, " of ", split_, " outside [0, ",
              info.num_shards(), ")");
  std::vector<int64_t> shards = request;
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  ++clock_;
  take_finished();

  // A read-ahead of k is waited for and taken; a queued one first goes to the front of the queue,
  // so that it is not read after read-aheads this request does not need.
  auto take_ahead = [&](int64_t k) {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = jobs_.find(k);
    if (it == jobs_.end()) return false;
    Job& j = it->second;
    if (j.state == Job::queued) {
      queue_.erase(std::find(queue_.begin(), queue_.end(), k));
      queue_.push_front(k);
    }
    cv_.wait(lock, [&] { return j.state == Job::done; });
    if (j.error) {
      const std::exception_ptr error = j.error;
      account(-j.reserved);  // 0 when take_finished already freed it
      jobs_.erase(it);       // a later fetch reads the shard again
      std::rethrow_exception(error);
    }
    lock.unlock();
    take_finished();
    return true;
  };
  std::vector<int64_t> missing;
  for (int64_t k : shards) {
    if (!entries_.count(k) && !take_ahead(k)) {
      missing.push_back(k);
      continue;
    }
    Entry& e = entries_.at(k);
    e.last_use = clock_;
    if (e.ahead) ++hits_;
    e.ahead = false;
  }

  // Room: other shards first (least recently used), then queued read-aheads, then the running one,
  // which lands and is dropped. So read-ahead never takes a request over the budget it fits in.
  auto make_room = [&](int64_t room) {
    while (held_ + room > budget_) {
      if (drop_oldest() || cancel_newest_queued()) continue;
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto running = std::find_if(jobs_.begin(), jobs_.end(),
                                    [](const auto& kv) { return kv.second.state == Job::reading; });
        if (running == jobs_.end()) return;
        cv_.wait(lock, [&] { return running->second.state == Job::done; });
      }
      take_finished();
    }
  };
  // Room is made before each read (room_for), so the peak stays within the budget
  // whenever the request itself fits.
  for (int64_t k : missing) {
    const ShardEntry& sh = info.shards[size_t(k)];
    make_room(room_for(sh));
    Entry e;
    e.data = read(k);
    e.bytes = decoded_bytes(e.data);
    e.last_use = clock_;
    ++reads_;
    bytes_read_ += sh.bytes;
    account(e.bytes);
    entries_.emplace(k, std::move(e));
  }
  make_room(0);
}

void ShardCache::prefetch(const std::vector<int64_t>& shards) {
  const SplitInfo& info = set_.split(split_);
  for (int64_t k : shards)
    SEQ_CHECK(k >= 0 && k < info.num_shards(), "ShardCache: shard ", k, " of ", split_, " outside [0, ",
              info.num_shards(), ")");
  take_finished();
  std::vector<int64_t> wanted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int64_t k : shards) {
      auto it = entries_.find(k);
      if (it != entries_.end()) it->second.last_use = clock_;
      else if (!jobs_.count(k) && std::find(wanted.begin(), wanted.end(), k) == wanted.end()) wanted.push_back(k);
    }
  }
  for (int64_t k : wanted) {
    const int64_t need = room_for(info.shards[size_t(k)]);
    int64_t droppable = 0;
    for (const auto& kv : entries_)
      if (kv.second.last_use != clock_) droppable += kv.second.bytes;
    if (held_ - droppable + need > budget_) continue;  // would not fit: skipped, never read over budget
    while (held_ + need > budget_) drop_oldest();
    {
      std::lock_guard<std::mutex> lock(mu_);
      Job& j = jobs_[k];
      j.reserved = need;
      j.stamp = clock_;
      queue_.push_back(k);
    }
    account(need);
    if (!thread_.joinable()) thread_ = std::thread(&ShardCache::worker, this);
    cv_.notify_all();
  }
}

const SequenceSet& ShardCache::shard(int64_t k) const {
  auto it = entries_.find(k);
  SEQ_CHECK(it != entries_.end(), "ShardCache: shard ", k, " of ", split_, " was not fetched");
  return it->second.data;
}

}  // namespace seqmend
