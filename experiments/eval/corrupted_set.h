// The on-disk form of "clean data + injected anomalies" that `seqmend simulate` (simulated users) and
// `seqmend corrupt` (an ingested shard set) both write, so every later stage reads one layout:
//
//   DIR/manifest.json, {train,valid,test}-*.h5  the corrupted, labelled set (label, seq_label) with
//                                               leave-one-out splits as ingest writes them
//   DIR/clean/                                  the same users before corruption (labels all clean),
//                                               split the same way
//   DIR/repair_truth.tsv                        kind, user, position, item: for each deleted event the
//                                               gap event's position in the user's full (test) sequence
//                                               and the deleted item; for each substitution the
//                                               substituted event's position and the original item
//
// With hide_truth (a noisy log whose truth no stage may see): DIR holds the corrupted set without
// label columns and nothing else; the labelled set, clean/ and repair_truth.tsv go to DIR.truth
// (truth_dir_of), beside DIR, which only an evaluation against the truth opens.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "io/config.h"
#include "io/injectors.h"
#include "io/published_dir.h"
#include "io/sequence_set.h"
#include "io/shard_set.h"
#include "io/splits.h"

namespace seqmend {

struct CorruptedSetOptions {
  int64_t max_events_per_shard = 400000;
  int64_t target_shards = 64;
  int64_t min_events_per_shard = 8192;
  bool fsync = true;
  bool write_clean = true;  // DIR/clean
  bool hide_truth = false;  // labels, clean/ and repair_truth.tsv in DIR.truth, DIR unlabelled
  bool overwrite = false;   // replace a non-empty DIR (and DIR.truth), once the new ones are complete
};

// Where hide_truth puts the truth of DIR: the sibling DIR.truth.
std::string truth_dir_of(const std::string& out_dir);

// The output settings of `seqmend simulate` and `seqmend corrupt` (both configs derive from it).
struct CorruptedSetOutput {
  bool write_clean = true;
  bool overwrite = false;
  int64_t threads = 0;
  int64_t max_events_per_shard = 400000;
  int64_t target_shards = 64;
  int64_t min_events_per_shard = 8192;
  bool fsync = true;
  bool hide_truth = false;

  CorruptedSetOptions options() const {
    return {max_events_per_shard, target_shards, min_events_per_shard, fsync, write_clean, hide_truth, overwrite};
  }
  void visit_output(ConfigVisitor& v) {
    v.field("write_clean", write_clean, "also write the uncorrupted sequences to DIR/clean");
    v.field("overwrite", overwrite, "replace the contents of a non-empty output directory");
    v.field("threads", threads, "worker threads (0 = all cores); the output does not depend on it", 0, 4096);
    v.field("max_events_per_shard", max_events_per_shard, "events per shard file before a new one starts", 0,
            int64_t(1) << 40);
    v.field("target_shards", target_shards,
            "shards per split, so that many ranks read in parallel (0 = shards of max_events_per_shard)", 0, 1 << 20);
    v.field("min_events_per_shard", min_events_per_shard, "smallest shard the target may make, in events", 1,
            int64_t(1) << 40);
    v.field("fsync", fsync, "fsync written files (off only for throw-away data)");
    v.field("hide_truth", hide_truth,
            "write DIR as a noisy log without labels; labels, clean/ and repair_truth.tsv go to DIR.truth");
  }
};

// {label name: count} for InjectionResult::label_events / label_sequences.
nlohmann::json label_table(const std::array<int64_t, 8>& counts);

// The summary both producers store in their manifest's extra (users, bots, events, dropped events,
// label counts, push targets, seed, where the clean copy and the truth are).
nlohmann::json injection_summary(const SequenceSet& clean, const InjectionResult& r, uint64_t inject_seed,
                                 bool write_clean);

// repair_truth.tsv's text for `r` = the injectors' result on `clean`.
std::string repair_truth_tsv(const SequenceSet& clean, const InjectionResult& r);

// Leave-one-out splits exactly as ingest makes them (io/splits.h).
SplitSets leave_one_out(const SequenceSet& all);

// DIR, and DIR.truth with hide_truth, as simulate and corrupt publish them (io/published_dir.h):
// made before the work, so a second writer or a non-empty DIR without overwrite fails at once;
// written under log_path() and truth_path() (the same directory without hide_truth); commit()
// publishes the truth first, then the log, and removes a DIR.truth an earlier run in the other mode
// left. Destroyed uncommitted (an error), DIR and DIR.truth are as they were.
class CorruptedSetDirs {
 public:
  CorruptedSetDirs(const std::string& stage, const std::string& out_dir, const CorruptedSetOptions& opts);
  const std::string& log_path() const { return log_->path(); }
  const std::string& truth_path() const { return truth_ ? truth_->path() : log_->path(); }
  void commit();

 private:
  std::string out_dir_;
  std::unique_ptr<PublishedDir> log_, truth_;
};

// Writes the log (r.data split leave-one-out, described by `corrupted`) and the truth: the clean
// copy (`clean`, described by `clean_info`) when opts.write_clean and repair_truth.tsv, into `dirs`.
// With opts.hide_truth the log has no labels and its manifest lacks the injection summary
// (`summary_key` of extra), and the labelled set goes with the truth. The manifests' extra.split is
// filled here.
void write_corrupted_set(const CorruptedSetDirs& dirs, const SequenceSet& clean, const InjectionResult& r,
                         ManifestInfo corrupted, ManifestInfo clean_info, const CorruptedSetOptions& opts,
                         const std::string& summary_key);

}  // namespace seqmend
