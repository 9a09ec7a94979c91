#include "experiments/eval/corrupted_set.h"

#include <filesystem>
#include <sstream>

#include "core/base/error.h"
#include "io/atomic_file.h"

namespace seqmend {

nlohmann::json label_table(const std::array<int64_t, 8>& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t c = 0; c < counts.size(); ++c) j[anomaly_label_name(int(c))] = counts[c];
  return j;
}

nlohmann::json injection_summary(const SequenceSet& clean, const InjectionResult& r, uint64_t inject_seed,
                                 bool write_clean) {
  return {
      {"users", clean.num_sequences()},
      {"bots", r.data.num_sequences() - clean.num_sequences()},
      {"clean_events", clean.num_events()},
      {"events", r.data.num_events()},
      {"dropped_events", int64_t(r.dropped_item.size())},
      {"label_events", label_table(r.label_events)},
      {"label_sequences", label_table(r.label_sequences)},
      {"push_targets", r.push_targets},
      {"inject_seed", inject_seed},
      {"clean_dir", write_clean ? "clean" : ""},
      {"repair_truth", "repair_truth.tsv"},
  };
}

// Positions are in the user's full corrupted sequence (= the test split's sequence), where repair
// looks for them.
std::string repair_truth_tsv(const SequenceSet& clean, const InjectionResult& r) {
  std::ostringstream os;
  os << "kind\tuser\tposition\titem\n";
  const SequenceSet& d = r.data;
  for (int64_t s = 0; s < d.num_sequences(); ++s) {
    const int64_t b = d.offsets[size_t(s)];
    int64_t next_drop = r.dropped_offsets[size_t(s)];
    for (int64_t i = b; i < d.offsets[size_t(s) + 1]; ++i) {
      for (; next_drop < r.dropped_offsets[size_t(s) + 1] && r.dropped_before[size_t(next_drop)] == i; ++next_drop)
        os << "dropped\t" << d.user[size_t(s)] << '\t' << i - b << '\t' << r.dropped_item[size_t(next_drop)] << '\n';
      if (d.label[size_t(i)] == kLabelSubstitution)
        os << "substituted\t" << d.user[size_t(s)] << '\t' << i - b << '\t'
           << clean.item[size_t(r.source_event[size_t(i)])] << '\n';
    }
  }
  return os.str();
}

SplitSets leave_one_out(const SequenceSet& all) {
  IngestSplitOptions opts;
  opts.method = "leave_one_out";
  return make_splits(all, opts);
}

namespace {

void write_splits(const std::string& dir, ManifestInfo info, SplitSets& splits, const CorruptedSetOptions& o) {
  info.extra["split"] = splits.info;
  ShardOptions opts;
  opts.max_events_per_shard = o.max_events_per_shard;
  opts.target_shards = o.target_shards;
  opts.min_events_per_shard = o.min_events_per_shard;
  opts.fsync = o.fsync;
  write_shard_set(dir, info, {{"train", splits.train}, {"valid", splits.valid}, {"test", splits.test}}, opts);
}

}  // namespace

std::string truth_dir_of(const std::string& out_dir) {
  std::string d = out_dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d + ".truth";
}

CorruptedSetDirs::CorruptedSetDirs(const std::string& stage, const std::string& out_dir, const CorruptedSetOptions& o)
    : out_dir_(out_dir) {
  SEQ_CHECK(!out_dir.empty(), stage, ": no output directory (--out DIR)");
  PublishOptions po;
  po.overwrite = o.overwrite;
  po.fsync = o.fsync;
  po.what = stage;
  po.hint = "choose a new directory or pass overwrite=true";
  log_ = std::make_unique<PublishedDir>(out_dir, po);
  if (o.hide_truth) truth_ = std::make_unique<PublishedDir>(truth_dir_of(out_dir), po);
}

void CorruptedSetDirs::commit() {
  if (truth_) {
    truth_->commit();
  } else {
    // A truth an earlier hide_truth run left beside DIR would be read as this run's.
    std::error_code ec;
    std::filesystem::remove_all(truth_dir_of(out_dir_), ec);
  }
  log_->commit();
}

void write_corrupted_set(const CorruptedSetDirs& dirs, const SequenceSet& clean, const InjectionResult& r,
                         ManifestInfo corrupted, ManifestInfo clean_info, const CorruptedSetOptions& opts,
                         const std::string& summary_key) {
  const std::string& truth_dir = dirs.truth_path();
  if (opts.hide_truth) {
    SequenceSet log = without_labels(r.data);
    ManifestInfo info = corrupted;
    info.extra.erase(summary_key);
    info.extra["noisy_log"] = {{"users", clean.num_sequences()},
                               {"events", log.num_events()},
                               {"note", "anomaly labels withheld: the truth of this set is kept apart"}};
    SplitSets splits = leave_one_out(log);
    write_splits(dirs.log_path(), std::move(info), splits, opts);
  }
  {
    SplitSets splits = leave_one_out(r.data);
    write_splits(truth_dir, std::move(corrupted), splits, opts);
  }
  if (opts.write_clean) {
    SplitSets splits = leave_one_out(clean);
    write_splits(truth_dir + "/clean", std::move(clean_info), splits, opts);
  }
  write_file_atomic(truth_dir + "/repair_truth.tsv", repair_truth_tsv(clean, r));
}

}  // namespace seqmend
