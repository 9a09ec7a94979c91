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
//                 max_len, the cost of a sequence; experiments/token_deal.h). Every rank computes
//                 the same deal from the lengths, so no rank idles whatever the shard layout — a
//                 one-shard set trains on all ranks.
//
// Any rank may be dealt any sequence, so every rank holds the whole split (read once, each shard
// checked). Memory per rank is therefore the split's size, as on one rank.
#pragma once

#include <cstdint>
#include <vector>

#include "core/batch.h"
#include "io/sequence_set.h"
#include "io/shard_set.h"

namespace seqmend {

class DataParallelLoader {
 public:
  // Reads every shard of `split` into memory (each shard checked; a bad one throws naming the
  // file). token_cap (> 0): a sequence costs min(length, token_cap) tokens when dealt; 0 = its length.
  DataParallelLoader(const ShardSet& set, const std::string& split, int rank, int world,
                     int64_t global_batch, uint64_t seed, int64_t token_cap = 0);

  int64_t num_samples() const { return data_.num_sequences(); }
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

  // The stored sequence of sample `id` (sample_id set to `id`).
  SequenceView view(int64_t id) const;
  std::vector<SequenceView> views(const std::vector<int64_t>& ids) const;
  // The whole split, row = sample id.
  const SequenceSet& data() const { return data_; }
  // Swaps the sequences for a transformed copy with the same sequences in the same order (e.g. with
  // canaries injected); sample ids stay.
  void replace_data(SequenceSet data);

 private:
  void ensure_epoch(int64_t epoch);

  int rank_ = 0, world_ = 1;
  int64_t global_batch_ = 1, token_cap_ = 0;
  uint64_t seed_ = 0;
  SequenceSet data_;  // every shard of the split, concatenated in index order
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;  // (num_samples) order of the current epoch
};

}  // namespace seqmend
