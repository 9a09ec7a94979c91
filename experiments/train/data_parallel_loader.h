// The data-parallel sampler: which sequences make up each global batch, and which rank trains on
// which of them. The global batch and its order depend only on (seed, global batch size) — never on
// the number of ranks — so a run on 1 rank and on 4 ranks sees the same batches:
//
//   sample id   = index of a sequence in the split (shards concatenated in index order);
//   epoch order = a permutation of the sample ids drawn from Rng(hash_combine(seed, epoch));
//   batch b     = the next G ids of that permutation (the last batch of an epoch may be short);
//   micro-batch = a slice of the batch by position (not by rank), so gradient accumulation splits
//                 the same way on any number of ranks;
//   this rank   = the ids of the micro-batch dealt to it by tokens (length capped at the model's
//                 max_len, the cost of a sequence; experiments/train/token_deal.h). Every rank computes
//                 the same deal from the lengths, so no rank idles whatever the shard layout — a
//                 one-shard set trains on all ranks.
//
// Any rank may be dealt any sequence. By default every rank holds the whole split (read once, each
// shard checked): memory per rank is the split's size, as on one rank. With a cache budget
// (cache_bytes > 0) a rank holds only the shards its batches need, in a ShardCache; the epoch order
// is then windowed so that a batch needs few shards: the shards are permuted, taken K at a time (K
// = as many as fit in half the budget), and the sequences of each window permuted — still a pure
// function of (seed, epoch), never of the rank count, but another order than the default's. The
// trainer calls prefetch() with the next batch, so a rank's next shards load as it computes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/batch.h"
#include "experiments/train/shard_cache.h"
#include "io/sequence_set.h"
#include "io/shard_set.h"

namespace seqmend {

class DataParallelLoader {
 public:
  // Reads every shard of `split` into memory (each shard checked; a bad one throws naming the
  // file), or with cache_bytes > 0 only the sequence lengths (the shards' offsets alone,
  // read_sequence_lengths in io/shard_set.h), shards then read as batches need them.
  // token_cap (> 0): a sequence costs min(length, token_cap) tokens when dealt; 0 = its length.
  DataParallelLoader(const ShardSet& set, const std::string& split, int rank, int world,
                     int64_t global_batch, uint64_t seed, int64_t token_cap = 0, int64_t cache_bytes = 0);
  ~DataParallelLoader();
  DataParallelLoader(DataParallelLoader&&) noexcept;
  DataParallelLoader& operator=(DataParallelLoader&&) noexcept;

  int64_t num_samples() const { return int64_t(length_.size()); }
  int64_t global_batch() const { return global_batch_; }
  int64_t batches_per_epoch() const { return (num_samples() + global_batch_ - 1) / global_batch_; }
  int rank() const { return rank_; }
  int world() const { return world_; }

  // Sample ids of batch `index` of `epoch`, in order; identical on every rank.
  std::vector<int64_t> global_batch_ids(int64_t epoch, int64_t index);
  // Micro-batch `micro` of `parts` within `ids`, dealt to every rank: (world) lists, each in batch
  // order. The same on every rank.
  std::vector<std::vector<int64_t>> deal(const std::vector<int64_t>& ids, int64_t micro, int64_t parts) const;
  // This rank's list of deal(ids, micro, parts).
  std::vector<int64_t> local_part(const std::vector<int64_t>& ids, int64_t micro, int64_t parts) const;
  // Max over ranks / mean over ranks of the tokens dealt for the whole batch `ids` cut into `parts`
  // micro-batches (1 = perfectly even; world = one rank got everything).
  double token_balance(const std::vector<int64_t>& ids, int64_t parts) const;
  int64_t tokens(int64_t id) const;  // what sample `id` costs when dealt

  // The stored sequences of samples `ids` (sample_id set to each id). In cache mode the views stay
  // valid until the next views() call.
  std::vector<SequenceView> views(const std::vector<int64_t>& ids);
  // Cache mode: starts reading, on the cache's thread, the shards of this rank's share of `ids` cut
  // into `parts` micro-batches (ShardCache::prefetch) — the next batch's, so that they load while
  // this one trains. Views already returned stay valid. Without a cache it does nothing.
  void prefetch(const std::vector<int64_t>& ids, int64_t parts);
  // A transformation of every sequence (e.g. canaries injected), applied to each shard as it is
  // read (per-sequence functions only: the result must not depend on which shards are read
  // together); call before the first views().
  void set_transform(std::function<SequenceSet(SequenceSet)> transform);
  // The whole split, row = sample id (not in cache mode).
  const SequenceSet& data() const;

  bool cached() const { return cache_ != nullptr; }
  int64_t window_shards() const { return window_; }  // cache mode: shards per shuffle window
  int64_t peak_bytes() const;   // the most ever held
  int64_t bytes_read() const;   // shard file bytes read for sequences (the lengths pass not counted)
  int64_t prefetch_hits() const;  // shards a views() call found read ahead

 private:
  void ensure_epoch(int64_t epoch);
  int64_t shard_of(int64_t id) const;
  std::vector<int64_t> shards_of(const std::vector<int64_t>& ids) const;  // sorted, each once

  int rank_ = 0, world_ = 1;
  int64_t global_batch_ = 1, token_cap_ = 0;
  uint64_t seed_ = 0;
  std::vector<int64_t> length_;       // (num_samples) events of each sample
  std::vector<int64_t> shard_first_;  // (S + 1) first sample id of each shard
  SequenceSet data_;                  // default mode: the whole split, row = sample id
  std::unique_ptr<ShardCache> cache_;  // cache mode
  int64_t window_ = 0;
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;  // (num_samples) order of the current epoch
};

}  // namespace seqmend
