// The data-parallel sampler: which sequences make up each global batch, and which of them this rank
// holds. The global batch and its order depend only on (seed, global batch size) — never on the
// number of ranks — so a run on 1 rank and on 4 ranks sees the same batches:
//
//   sample id   = index of a sequence in the split (shards concatenated in index order); every
//                 rank knows all shard sizes from the manifest;
//   epoch order = a permutation of the sample ids drawn from Rng(hash_combine(seed, epoch));
//   batch b     = the next G ids of that permutation (the last batch of an epoch may be short);
//   this rank   = reads only its own shards (round-robin) and trains on the ids stored there.
//
// A batch is cut into micro-batches by position within the global batch (not within the rank), so
// gradient accumulation also splits the same way on any number of ranks.
#pragma once

#include <cstdint>
#include <vector>

#include "core/batch.h"
#include "io/sequence_set.h"
#include "io/shard_set.h"

namespace seqmend {

class DataParallelLoader {
 public:
  // Reads this rank's shards of `split` into memory (each shard checked; a bad one throws naming
  // the file).
  DataParallelLoader(const ShardSet& set, const std::string& split, int rank, int world,
                     int64_t global_batch, uint64_t seed);

  int64_t num_samples() const { return total_; }        // over all ranks
  int64_t local_samples() const { return data_.num_sequences(); }
  int64_t global_batch() const { return global_batch_; }
  int64_t batches_per_epoch() const { return (total_ + global_batch_ - 1) / global_batch_; }
  const std::vector<int64_t>& shards() const { return shards_; }

  // Sample ids of batch `index` of `epoch`, in order; identical on every rank.
  std::vector<int64_t> global_batch_ids(int64_t epoch, int64_t index);
  // The ids of micro-batch `micro` of `parts` within `ids`, keeping only those stored on this rank.
  std::vector<int64_t> local_part(const std::vector<int64_t>& ids, int64_t micro, int64_t parts) const;

  bool is_local(int64_t id) const { return local_index(id) >= 0; }
  // The stored sequence of a local sample id (sample_id set to `id`).
  SequenceView view(int64_t id) const;
  std::vector<SequenceView> views(const std::vector<int64_t>& ids) const;
  // All local sequences with their sample ids, in id order (evaluation).
  std::vector<int64_t> local_ids() const;
  // Events of sample `id` as counted in its shard (any rank: from the manifest for shard sizes
  // only; the length itself is known only where it is stored).
  const SequenceSet& data() const { return data_; }
  // Swaps this rank's sequences for a transformed copy with the same sequences in the same order
  // (e.g. with canaries injected); sample ids stay.
  void replace_data(SequenceSet data);

 private:
  int64_t local_index(int64_t id) const;  // -1 when not on this rank
  void ensure_epoch(int64_t epoch);

  int64_t total_ = 0, global_batch_ = 1;
  uint64_t seed_ = 0;
  std::vector<int64_t> shards_;        // shard indices read by this rank
  std::vector<int64_t> shard_first_;   // (S + 1) first sample id of each shard of the split
  std::vector<int64_t> local_first_;   // (local shards) first local index of each of our shards
  SequenceSet data_;                   // this rank's sequences, our shards concatenated
  int64_t perm_epoch_ = -1;
  std::vector<int64_t> perm_;          // (total) order of the current epoch
};

}  // namespace seqmend
