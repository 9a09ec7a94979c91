// ShardCache's read-ahead: a prefetched shard is read once and served from the read-ahead, the
// budget holds with reads under way, a background read's error reaches the fetch that needs the
// shard, a cache dies cleanly with a read in flight, and a loader that reads ahead serves the same
// batches as one that does not.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "core/base/error.h"
#include "experiments/train/data_parallel_loader.h"
#include "experiments/train/shard_cache.h"
#include "io/shard_test_util.h"

namespace seqmend {
namespace {
namespace fs = std::filesystem;
using namespace shard_test;

class ShardCacheTest : public ShardSetTest {
 protected:
  // 400 sequences of 0..30 events in shards of at most 200 events (about 30 shards).
  void SetUp() override {
    ShardSetTest::SetUp();
    data_ = make_set(400, 120, 50, 17);
    ShardOptions o;
    o.max_events_per_shard = 200;
    o.fsync = false;
    write_shard_set(dir(), make_info(120, 50), {{"train", data_}}, o);
    set_ = ShardSet::open(dir());
    starts_.assign(1, 0);
    for (const auto& sh : set_.split("train").shards) {
      starts_.push_back(starts_.back() + sh.sequences);
      largest_ = std::max(largest_, ShardCache::decoded_bytes_at_most(sh));
    }
  }
  SequenceSet want(int64_t k) const { return slice(data_, starts_[size_t(k)], starts_[size_t(k) + 1]); }
  int64_t num_shards() const { return set_.split("train").num_shards(); }

  SequenceSet data_;
  ShardSet set_;
  std::vector<int64_t> starts_;  // first sequence of each shard in data_
  int64_t largest_ = 0;          // largest decoded_bytes_at_most of a shard
};

SequenceSet reversed(SequenceSet s) {
  for (int64_t q = 0; q < s.num_sequences(); ++q)
    std::reverse(s.item.begin() + s.offsets[size_t(q)], s.item.begin() + s.offsets[size_t(q) + 1]);
  return s;
}

TEST_F(ShardCacheTest, PrefetchedShardsAreServedWithoutASecondRead) {
  ASSERT_GE(num_shards(), 10);
  std::atomic<int> transforms{0};
  ShardCache cache(set_, "train", 100 * largest_, [&](SequenceSet s) {
    ++transforms;
    return reversed(std::move(s));
  });
  cache.prefetch({2, 5, 7});
  cache.prefetch({5, 7});  // already on their way: not queued twice
  cache.fetch({2, 5, 7});
  EXPECT_EQ(cache.shards_read(), 3);
  EXPECT_EQ(cache.prefetch_hits(), 3);
  EXPECT_EQ(transforms.load(), 3) << "each shard transformed once, as a synchronous read does";
  for (int64_t k : {2, 5, 7}) expect_same(cache.shard(k), reversed(want(k)));
  cache.prefetch({2, 5});  // held: nothing to read
  cache.fetch({2, 5, 8});
  EXPECT_EQ(cache.shards_read(), 4);
  EXPECT_EQ(cache.prefetch_hits(), 3) << "a held shard is no read-ahead hit";
  expect_same(cache.shard(8), reversed(want(8)));
  EXPECT_GT(cache.bytes_read(), 0);
}

// Random fetches, each followed by read-aheads of other shards, the first of which the next fetch
// needs: every served shard is the stored one, the shards of the last fetch stay in place, and the
// budget is never exceeded.
TEST_F(ShardCacheTest, PrefetchNeverTakesTheCacheOverBudget) {
  const int64_t budget = 3 * largest_ + 64;  // the last fetch's 2 shards and 1 read-ahead
  ShardCache cache(set_, "train", budget);
  cache.fetch({0, 1});
  const SequenceSet* held0 = &cache.shard(0);
  cache.prefetch({2, 3, 4, 5, 6});
  EXPECT_LE(cache.bytes_held(), budget);
  EXPECT_EQ(&cache.shard(0), held0) << "a read-ahead does not drop the last fetch's shards";
  expect_same(cache.shard(1), want(1));

  std::mt19937 rng(5);
  std::uniform_int_distribution<int64_t> pick(0, num_shards() - 1);
  int64_t next = 2;
  for (int i = 0; i < 60; ++i) {
    const std::vector<int64_t> now{next, pick(rng)};
    cache.fetch(now);
    EXPECT_LE(cache.bytes_held(), budget);
    for (int64_t k : now) expect_same(cache.shard(k), want(k));
    std::vector<const SequenceSet*> before;
    for (int64_t k : now) before.push_back(&cache.shard(k));
    next = pick(rng);
    cache.prefetch({next, pick(rng), pick(rng)});
    EXPECT_LE(cache.bytes_held(), budget);
    for (size_t j = 0; j < now.size(); ++j) EXPECT_EQ(&cache.shard(now[j]), before[j]);
  }
  EXPECT_LE(cache.peak_bytes(), budget);
  EXPECT_GT(cache.prefetch_hits(), 0);

  // Beside a request that fills the budget there is no room: the read-ahead is skipped.
  const int64_t exact = ShardCache::decoded_bytes(want(0)) + ShardCache::decoded_bytes(want(1));
  ShardCache full(set_, "train", exact);
  full.fetch({0, 1});
  EXPECT_EQ(full.bytes_held(), exact);
  full.prefetch({2});
  EXPECT_EQ(full.bytes_held(), exact);
  full.fetch({0, 1});
  EXPECT_EQ(full.peak_bytes(), exact);
  EXPECT_EQ(full.shards_read(), 2);
}

// The set was opened whole; a shard is truncated afterwards. Its read-ahead fails on the cache's
// thread, and the error comes out of the fetch that needs the shard — not out of other fetches.
TEST_F(ShardCacheTest, BackgroundReadErrorSurfacesOnTheFetchThatNeedsIt) {
  ShardCache cache(set_, "train", 100 * largest_);
  const std::string victim = dir() + "/" + shard_file_name("train", 3);
  fs::resize_file(victim, fs::file_size(victim) / 2);
  cache.prefetch({3, 4});
  cache.fetch({4});  // unaffected
  expect_same(cache.shard(4), want(4));
  // Until the failed read has landed (its reserved room is then given back), other shards only.
  while (cache.bytes_held() > ShardCache::decoded_bytes(cache.shard(4))) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    cache.prefetch({});
  }
  cache.fetch({5});
  const std::string err = error_of([&] { cache.fetch({3}); });
  EXPECT_NE(err.find("train-00003.h5"), std::string::npos) << err;
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  // The error was handed over once; the next fetch reads the shard again and fails again.
  EXPECT_NE(error_of([&] { cache.fetch({3}); }).find("train-00003.h5"), std::string::npos);
  // Nothing was held for the failed shard, and the cache keeps serving others.
  cache.fetch({6});
  expect_same(cache.shard(6), want(6));
  EXPECT_EQ(cache.shards_read(), 3);

  // Fetched at once, the read-ahead still queued or under way: the error comes out of the wait.
  ShardCache fresh(set_, "train", 100 * largest_);
  fresh.prefetch({3});
  EXPECT_NE(error_of([&] { fresh.fetch({3}); }).find("train-00003.h5"), std::string::npos);
}

// A read under way when the cache goes: the destructor waits for it and drops the queued ones.
TEST_F(ShardCacheTest, DestroyingACacheWithAReadInFlightIsClean) {
  std::atomic<int> started{0};
  {
    ShardCache cache(set_, "train", 100 * largest_, [&](SequenceSet s) {
      ++started;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      return s;
    });
    cache.prefetch({0, 1, 2, 3, 4, 5});
    while (started.load() == 0) std::this_thread::yield();
  }
  EXPECT_LE(started.load(), 2) << "queued read-aheads are dropped, not read";
  {
    ShardCache idle(set_, "train", 100 * largest_);  // no read-ahead ever: no thread to join
    idle.fetch({0});
  }
  {
    ShardCache transform_change(set_, "train", 100 * largest_);
    transform_change.prefetch({0, 1, 2});
    transform_change.set_transform(reversed);  // drops the read-aheads made without it
    transform_change.fetch({0, 1});
    expect_same(transform_change.shard(0), reversed(want(0)));
    expect_same(transform_change.shard(1), reversed(want(1)));
  }
}

// The trainer's pattern: views of this rank's share of batch b, then a read-ahead of batch b + 1.
// The batches served are those of a loader that never reads ahead, on 1 rank and on each of 2.
TEST_F(ShardCacheTest, CachedLoaderWithReadAheadGivesTheSameBatches) {
  const int64_t budget = 4 * largest_;  // windows of 2 shards
  const int64_t G = 24, parts = 2;
  for (int world : {1, 2}) {
    for (int rank = 0; rank < world; ++rank) {
      DataParallelLoader plain(set_, "train", rank, world, G, 7, 12, budget);
      DataParallelLoader ahead(set_, "train", rank, world, G, 7, 12, budget);
      DataParallelLoader resident(set_, "train", rank, world, G, 7, 12);
      ASSERT_EQ(ahead.window_shards(), 2);
      const int64_t per_epoch = ahead.batches_per_epoch();
      for (int64_t step = 0; step < 2 * per_epoch; ++step) {
        const auto ids = ahead.global_batch_ids(step / per_epoch, step % per_epoch);
        ASSERT_EQ(plain.global_batch_ids(step / per_epoch, step % per_epoch), ids);
        for (int64_t m = 0; m < parts; ++m) {
          const auto mine = ahead.local_part(ids, m, parts);
          const auto got = ahead.views(mine), ref = plain.views(mine), full = resident.views(mine);
          if (m == parts - 1) {
            const auto next = ahead.global_batch_ids((step + 1) / per_epoch, (step + 1) % per_epoch);
            ahead.prefetch(next, parts);  // the views above must survive it
          }
          ASSERT_EQ(got.size(), ref.size());
          for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].sample_id, ref[i].sample_id);
            EXPECT_TRUE(std::equal(got[i].items.begin(), got[i].items.end(), ref[i].items.begin(), ref[i].items.end()));
            EXPECT_TRUE(std::equal(got[i].items.begin(), got[i].items.end(), full[i].items.begin(), full[i].items.end()));
            EXPECT_TRUE(std::equal(got[i].timestamps.begin(), got[i].timestamps.end(), ref[i].timestamps.begin(),
                                   ref[i].timestamps.end()));
          }
        }
      }
      EXPECT_GT(ahead.prefetch_hits(), 0) << "rank " << rank << " of " << world;
      EXPECT_EQ(plain.prefetch_hits(), 0);
      EXPECT_LE(ahead.peak_bytes(), budget);
      resident.prefetch(ahead.global_batch_ids(0, 0), parts);  // no cache: nothing to do
    }
  }
}

}  // namespace
}  // namespace seqmend
