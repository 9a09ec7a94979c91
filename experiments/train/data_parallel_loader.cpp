#include "experiments/train/data_parallel_loader.h"

#include <algorithm>
#include <numeric>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/train/token_deal.h"

namespace seqmend {

DataParallelLoader::DataParallelLoader(const ShardSet& set, const std::string& split, int rank, int world,
                                       int64_t global_batch, uint64_t seed, int64_t token_cap, int64_t cache_bytes)
    : rank_(rank), world_(world), global_batch_(global_batch), token_cap_(token_cap), seed_(seed) {
  SEQ_CHECK(global_batch >= 1, "DataParallelLoader: global batch size must be >= 1, got ", global_batch);
  SEQ_CHECK(world >= 1 && rank >= 0 && rank < world, "DataParallelLoader: rank ", rank, " of ", world);
  SEQ_CHECK(token_cap >= 0, "DataParallelLoader: token_cap must be >= 0, got ", token_cap);
  SEQ_CHECK(cache_bytes >= 0, "DataParallelLoader: cache_bytes must be >= 0, got ", cache_bytes);
  const SplitInfo& info = set.split(split);
  shard_first_.assign(size_t(info.num_shards()) + 1, 0);
  for (int64_t k = 0; k < info.num_shards(); ++k)
    shard_first_[size_t(k) + 1] = shard_first_[size_t(k)] + info.shards[size_t(k)].sequences;
  if (cache_bytes > 0) {
    // Cache mode: the deal needs only the lengths; a shard's events are read when a batch needs them.
    length_ = read_sequence_lengths(set, split);
  } else {
    std::vector<int64_t> all(size_t(info.num_shards()));
    std::iota(all.begin(), all.end(), int64_t(0));
    ShardReader reader(set, split, all);
    SequenceSet part;
    for (int64_t k = 0; k < info.num_shards(); ++k) {
      const int64_t want = info.shards[size_t(k)].sequences;
      int64_t got = 0;
      while (got < want && reader.next(part, std::min<int64_t>(want - got, 4096))) {
        for (int64_t s = 0; s < part.num_sequences(); ++s) {
          length_.push_back(part.length(s));
          data_.append_from(part, s);
        }
        got += part.num_sequences();
      }
      SEQ_CHECK(got == want, "DataParallelLoader: shard ", shard_file_name(split, k), " of ", set.dir(),
                " gave ", got, " sequences, the manifest lists ", want);
    }
  }
  SEQ_CHECK(num_samples() > 0, "DataParallelLoader: split `", split, "` of ", set.dir(), " has no sequences");
  if (cache_bytes > 0) {
    cache_ = std::make_unique<ShardCache>(set, split, cache_bytes);
    // Two windows must fit (a batch may straddle one window's end and the next one's start).
    int64_t largest = 1;
    for (const auto& sh : info.shards) largest = std::max(largest, ShardCache::decoded_bytes_at_most(sh));
    window_ = std::clamp<int64_t>(cache_bytes / 2 / largest, 1, info.num_shards());
  }
}

DataParallelLoader::~DataParallelLoader() = default;
DataParallelLoader::DataParallelLoader(DataParallelLoader&&) noexcept = default;
DataParallelLoader& DataParallelLoader::operator=(DataParallelLoader&&) noexcept = default;

int64_t DataParallelLoader::shard_of(int64_t id) const {
  return int64_t(std::upper_bound(shard_first_.begin(), shard_first_.end(), id) - shard_first_.begin()) - 1;
}

std::vector<int64_t> DataParallelLoader::shards_of(const std::vector<int64_t>& ids) const {
  std::vector<int64_t> shards;
  for (int64_t id : ids) shards.push_back(shard_of(id));
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  return shards;
}

void DataParallelLoader::ensure_epoch(int64_t epoch) {
  if (epoch == perm_epoch_) return;
  const int64_t total = num_samples();
  perm_.resize(size_t(total));
  const uint64_t epoch_seed = hash_combine(seed_, uint64_t(epoch));
  auto shuffle = [](int64_t* v, int64_t n, Rng& rng) {  // Fisher–Yates, newest slot first
    for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[rng.below(uint64_t(i) + 1)]);
  };
  if (!cache_) {
    std::iota(perm_.begin(), perm_.end(), int64_t(0));
    Rng rng(epoch_seed, 0x5a3d1e);
    shuffle(perm_.data(), total, rng);
  } else {
    const int64_t S = int64_t(shard_first_.size()) - 1;
    std::vector<int64_t> shards(static_cast<size_t>(S));
    std::iota(shards.begin(), shards.end(), int64_t(0));
    Rng order(epoch_seed, 0x5a3d1f);
    shuffle(shards.data(), S, order);
    int64_t at = 0;
    for (int64_t w0 = 0; w0 < S; w0 += window_) {
      const int64_t begin = at;
      for (int64_t k = w0; k < std::min(S, w0 + window_); ++k)
        for (int64_t id = shard_first_[size_t(shards[size_t(k)])]; id < shard_first_[size_t(shards[size_t(k)]) + 1]; ++id)
          perm_[size_t(at++)] = id;
      Rng rng(hash_combine(epoch_seed, uint64_t(w0)), 0x5a3d20);
      shuffle(perm_.data() + begin, at - begin, rng);
    }
  }
  perm_epoch_ = epoch;
}

std::vector<int64_t> DataParallelLoader::global_batch_ids(int64_t epoch, int64_t index) {
  SEQ_CHECK(index >= 0 && index < batches_per_epoch(), "DataParallelLoader: batch ", index,
            " outside [0, ", batches_per_epoch(), ")");
  ensure_epoch(epoch);
  const int64_t lo = index * global_batch_, hi = std::min(num_samples(), lo + global_batch_);
  return {perm_.begin() + lo, perm_.begin() + hi};
}

int64_t DataParallelLoader::tokens(int64_t id) const {
  SEQ_CHECK(id >= 0 && id < num_samples(), "DataParallelLoader: sample ", id, " outside [0, ", num_samples(), ")");
  const int64_t n = length_[size_t(id)];
  return token_cap_ > 0 ? std::min(n, token_cap_) : n;
}

std::vector<std::vector<int64_t>> DataParallelLoader::deal(const std::vector<int64_t>& ids, int64_t micro,
                                                           int64_t parts) const {
  SEQ_CHECK(parts >= 1 && micro >= 0 && micro < parts, "DataParallelLoader: micro-batch ", micro, " of ", parts);
  const int64_t n = int64_t(ids.size());
  const int64_t lo = n * micro / parts, hi = n * (micro + 1) / parts;
  std::vector<int64_t> cost;
  for (int64_t i = lo; i < hi; ++i) cost.push_back(tokens(ids[size_t(i)]));
  const std::vector<int> rank_of = deal_by_tokens(cost, world_);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(world_));
  for (int64_t i = lo; i < hi; ++i) out[size_t(rank_of[size_t(i - lo)])].push_back(ids[size_t(i)]);  // batch order
  return out;
}

std::vector<int64_t> DataParallelLoader::local_part(const std::vector<int64_t>& ids, int64_t micro,
                                                    int64_t parts) const {
  return std::move(deal(ids, micro, parts)[size_t(rank_)]);
}

double DataParallelLoader::token_balance(const std::vector<int64_t>& ids, int64_t parts) const {
  std::vector<int64_t> cost;
  std::vector<int> rank_of;
  for (int64_t m = 0; m < parts; ++m) {
    const auto dealt = deal(ids, m, parts);
    for (size_t r = 0; r < dealt.size(); ++r)
      for (int64_t id : dealt[r]) {
        cost.push_back(tokens(id));
        rank_of.push_back(int(r));
      }
  }
  return seqmend::token_balance(cost, rank_of, world_);
}

std::vector<SequenceView> DataParallelLoader::views(const std::vector<int64_t>& ids) {
  for (int64_t id : ids)
    SEQ_CHECK(id >= 0 && id < num_samples(), "DataParallelLoader: sample ", id, " outside [0, ", num_samples(), ")");
  if (cache_) cache_->fetch(shards_of(ids));
  std::vector<SequenceView> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    const SequenceSet* d = &data_;
    int64_t row = id;
    if (cache_) {
      const int64_t k = shard_of(id);
      d = &cache_->shard(k);
      row = id - shard_first_[size_t(k)];
    }
    const int64_t lo = d->offsets[size_t(row)], n = d->length(row);
    SequenceView v;
    v.items = {d->item.data() + lo, size_t(n)};
    if (d->has_timestamps()) v.timestamps = {d->timestamp.data() + lo, size_t(n)};
    if (d->has_actions()) v.actions = {d->action.data() + lo, size_t(n)};
    v.sample_id = id;
    out.push_back(v);
  }
  return out;
}

void DataParallelLoader::prefetch(const std::vector<int64_t>& ids, int64_t parts) {
  if (!cache_) return;
  std::vector<int64_t> mine;
  for (int64_t m = 0; m < parts; ++m) {
    const std::vector<int64_t> part = local_part(ids, m, parts);
    mine.insert(mine.end(), part.begin(), part.end());
  }
  cache_->prefetch(shards_of(mine));
}

void DataParallelLoader::set_transform(std::function<SequenceSet(SequenceSet)> transform) {
  if (cache_) {
    cache_->set_transform(std::move(transform));
    return;
  }
  const int64_t n = data_.num_sequences();
  data_ = transform(std::move(data_));
  SEQ_CHECK(data_.num_sequences() == n, "DataParallelLoader: a transform turned ", n, " sequences into ",
            data_.num_sequences());
}

const SequenceSet& DataParallelLoader::data() const {
  SEQ_CHECK(!cache_, "DataParallelLoader: data() holds the whole split, which a cached loader does not");
  return data_;
}

int64_t DataParallelLoader::peak_bytes() const {
  return cache_ ? cache_->peak_bytes() : ShardCache::decoded_bytes(data_);
}
int64_t DataParallelLoader::bytes_read() const { return cache_ ? cache_->bytes_read() : 0; }
int64_t DataParallelLoader::prefetch_hits() const { return cache_ ? cache_->prefetch_hits() : 0; }

}  // namespace seqmend
