#include "experiments/data_parallel_loader.h"

#include <algorithm>
#include <numeric>

#include "core/base/error.h"
#include "core/base/rng.h"

namespace seqmend {

DataParallelLoader::DataParallelLoader(const ShardSet& set, const std::string& split, int rank,
                                       int world, int64_t global_batch, uint64_t seed)
    : global_batch_(global_batch), seed_(seed) {
  SEQ_CHECK(global_batch >= 1, "DataParallelLoader: global batch size must be >= 1, got ", global_batch);
  const SplitInfo& info = set.split(split);
  shard_first_.assign(size_t(info.num_shards()) + 1, 0);
  for (int64_t k = 0; k < info.num_shards(); ++k)
    shard_first_[size_t(k) + 1] = shard_first_[size_t(k)] + info.shards[size_t(k)].sequences;
  total_ = shard_first_.back();
  SEQ_CHECK(total_ > 0, "DataParallelLoader: split `", split, "` of ", set.dir(), " has no sequences");
  shards_ = assign_shards(info.num_shards(), rank, world);
  ShardReader reader(set, split, shards_);
  SequenceSet part;
  for (int64_t k : shards_) {
    local_first_.push_back(data_.num_sequences());
    const int64_t want = info.shards[size_t(k)].sequences;
    int64_t got = 0;
    // One shard at a time, so local_first_ lines up with shard boundaries.
    while (got < want && reader.next(part, want - got)) {
      for (int64_t s = 0; s < part.num_sequences(); ++s) {
        const int64_t lo = part.offsets[size_t(s)], n = part.length(s);
        data_.append(part.user[size_t(s)], part.item.data() + lo, n,
                     part.has_timestamps() ? part.timestamp.data() + lo : nullptr,
                     part.has_actions() ? part.action.data() + lo : nullptr,
                     part.has_labels() ? part.label.data() + lo : nullptr,
                     part.seq_label.empty() ? int8_t(0) : part.seq_label[size_t(s)]);
      }
      got += part.num_sequences();
    }
    SEQ_CHECK(got == want, "DataParallelLoader: shard ", shard_file_name(split, k), " of ", set.dir(),
              " gave ", got, " sequences, the manifest lists ", want);
  }
}

int64_t DataParallelLoader::local_index(int64_t id) const {
  if (id < 0 || id >= total_) return -1;
  const int64_t k = int64_t(std::upper_bound(shard_first_.begin(), shard_first_.end(), id) -
                            shard_first_.begin()) - 1;
  auto it = std::lower_bound(shards_.begin(), shards_.end(), k);
  if (it == shards_.end() || *it != k) return -1;
  return local_first_[size_t(it - shards_.begin())] + (id - shard_first_[size_t(k)]);
}

void DataParallelLoader::ensure_epoch(int64_t epoch) {
  if (epoch == perm_epoch_) return;
  perm_.resize(size_t(total_));
  std::iota(perm_.begin(), perm_.end(), int64_t(0));
  Rng rng(hash_combine(seed_, uint64_t(epoch)), 0x5a3d1e);  // Fisher–Yates, newest slot first
  for (int64_t i = total_ - 1; i > 0; --i) std::swap(perm_[size_t(i)], perm_[rng.below(uint64_t(i) + 1)]);
  perm_epoch_ = epoch;
}

std::vector<int64_t> DataParallelLoader::global_batch_ids(int64_t epoch, int64_t index) {
  SEQ_CHECK(index >= 0 && index < batches_per_epoch(), "DataParallelLoader: batch ", index,
            " outside [0, ", batches_per_epoch(), ")");
  ensure_epoch(epoch);
  const int64_t lo = index * global_batch_, hi = std::min(total_, lo + global_batch_);
  return {perm_.begin() + lo, perm_.begin() + hi};
}

std::vector<int64_t> DataParallelLoader::local_part(const std::vector<int64_t>& ids, int64_t micro,
                                                    int64_t parts) const {
  const int64_t n = int64_t(ids.size());
  const int64_t lo = n * micro / parts, hi = n * (micro + 1) / parts;
  std::vector<int64_t> out;
  for (int64_t i = lo; i < hi; ++i)
    if (is_local(ids[size_t(i)])) out.push_back(ids[size_t(i)]);
  return out;
}

SequenceView DataParallelLoader::view(int64_t id) const {
  const int64_t s = local_index(id);
  SEQ_CHECK(s >= 0, "DataParallelLoader: sample ", id, " is not stored on this rank");
  const int64_t lo = data_.offsets[size_t(s)], n = data_.length(s);
  SequenceView v;
  v.items = {data_.item.data() + lo, size_t(n)};
  if (data_.has_timestamps()) v.timestamps = {data_.timestamp.data() + lo, size_t(n)};
  if (data_.has_actions()) v.actions = {data_.action.data() + lo, size_t(n)};
  v.sample_id = id;
  return v;
}

std::vector<SequenceView> DataParallelLoader::views(const std::vector<int64_t>& ids) const {
  std::vector<SequenceView> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(view(id));
  return out;
}

std::vector<int64_t> DataParallelLoader::local_ids() const {
  std::vector<int64_t> out;
  for (size_t j = 0; j < shards_.size(); ++j) {
    const int64_t k = shards_[j];
    for (int64_t id = shard_first_[size_t(k)]; id < shard_first_[size_t(k) + 1]; ++id) out.push_back(id);
  }
  return out;
}

void DataParallelLoader::replace_data(SequenceSet data) {
  SEQ_CHECK(data.num_sequences() == data_.num_sequences(), "DataParallelLoader: replacing ", data_.num_sequences(),
            " sequences with ", data.num_sequences());
  data_ = std::move(data);
}

}  // namespace seqmend
