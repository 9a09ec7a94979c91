#include "experiments/data_parallel_loader.h"

#include <algorithm>
#include <numeric>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/token_deal.h"

namespace seqmend {

DataParallelLoader::DataParallelLoader(const ShardSet& set, const std::string& split, int rank,
                                       int world, int64_t global_batch, uint64_t seed, int64_t token_cap)
    : rank_(rank), world_(world), global_batch_(global_batch), token_cap_(token_cap), seed_(seed) {
  SEQ_CHECK(global_batch >= 1, "DataParallelLoader: global batch size must be >= 1, got ", global_batch);
  SEQ_CHECK(world >= 1 && rank >= 0 && rank < world, "DataParallelLoader: rank ", rank, " of ", world);
  SEQ_CHECK(token_cap >= 0, "DataParallelLoader: token_cap must be >= 0, got ", token_cap);
  const SplitInfo& info = set.split(split);
  std::vector<int64_t> all(size_t(info.num_shards()));
  std::iota(all.begin(), all.end(), int64_t(0));
  ShardReader reader(set, split, all);
  SequenceSet part;
  for (int64_t k = 0; k < info.num_shards(); ++k) {
    const int64_t want = info.shards[size_t(k)].sequences;
    int64_t got = 0;
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
  SEQ_CHECK(num_samples() > 0, "DataParallelLoader: split `", split, "` of ", set.dir(), " has no sequences");
}

void DataParallelLoader::ensure_epoch(int64_t epoch) {
  if (epoch == perm_epoch_) return;
  const int64_t total = num_samples();
  perm_.resize(size_t(total));
  std::iota(perm_.begin(), perm_.end(), int64_t(0));
  Rng rng(hash_combine(seed_, uint64_t(epoch)), 0x5a3d1e);  // Fisher–Yates, newest slot first
  for (int64_t i = total - 1; i > 0; --i) std::swap(perm_[size_t(i)], perm_[rng.below(uint64_t(i) + 1)]);
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
  const int64_t n = data_.length(id);
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

SequenceView DataParallelLoader::view(int64_t id) const {
  SEQ_CHECK(id >= 0 && id < num_samples(), "DataParallelLoader: sample ", id, " outside [0, ", num_samples(), ")");
  const int64_t lo = data_.offsets[size_t(id)], n = data_.length(id);
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

void DataParallelLoader::replace_data(SequenceSet data) {
  SEQ_CHECK(data.num_sequences() == data_.num_sequences(), "DataParallelLoader: replacing ", data_.num_sequences(),
            " sequences with ", data.num_sequences());
  data_ = std::move(data);
}

}  // namespace seqmend
