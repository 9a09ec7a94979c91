// Sharded HDF5 sequence sets on disk: a directory holding `manifest.json` and shard files
// `<split>-<kkkkk>.h5`, each shard a CSR slice of a SequenceSet (see io/FORMAT.md for the layout
// as a Python user sees it). Shards are small (≈1–4 MB) and many, so every rank reads only its share:
//
//   // producer (ingest, simulator)
//   ManifestInfo info;
//   info.source = "MovieLens-100K ratings, 5-core";
//   info.item_ids = ...;            // item_ids[i] is the original id of remapped item i + 1
//   info.user_ids = ...;            // user_ids[u] is the original id of remapped user u
//   info.extra = {{"ingest", report}};
//   write_shard_set("data/ml100k", info, {{"train", train}, {"valid", valid}, {"test", test}});
//
//   // consumer (one rank of many)
//   ShardSet set = ShardSet::open("data/ml100k");
//   ShardReader reader(set, "train", assign_shards(set.split("train").num_shards(), rank, world));
//   SequenceSet batch;
//   while (reader.next(batch, 256)) { ... }
//
// Durability: every file is written under a temporary name, fsynced and renamed into place, and the
// manifest is written last, so a directory without manifest.json is an unfinished write and a file
// with a final shard name is always whole. Each shard's CRC-32 is in the manifest and every chunk
// carries HDF5's fletcher32 checksum: damage is a seqmend::Error naming the file, never data.
//
// HDF5 (the MPI build) is not thread-safe; this code serialises its own HDF5 calls with a
// process-wide mutex, so readers may live on loader threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/sequence_set.h"

namespace seqmend {

// Bumped whenever a reader of the previous version would misread a new file.
inline constexpr int kShardFormatVersion = 1;

// What the producer knows about the data besides the sequences themselves.
struct ManifestInfo {
  std::string source;                 // free text: where the data came from, how it was made
  std::vector<std::string> item_ids;  // (V) original id of remapped item i + 1 (0 is padding)
  std::vector<int64_t> item_counts;   // (V) events per item; empty → counted by the writer over all splits
  int64_t num_items = 0;              // V when item_ids is empty (simulated data); else must be 0 or V
  std::vector<std::string> user_ids;  // (U) original id of remapped user u; empty → user ids unchecked
  nlohmann::json extra = nlohmann::json::object();  // producer's own record (ingest report, parameters)
};

struct ShardOptions {
  // A shard is closed before the sequence that would take it past either limit (0 = no limit);
  // sequences are never split across shards. ~14 bytes per event before compression (item,
  // timestamp, action, label) → the largest shard is roughly 1–4 MB compressed.
  int64_t max_events_per_shard = 400000;
  int64_t max_sequences_per_shard = 0;
  // A split whose size is declared (ShardSetWriter::plan_split, write_shard_set) is cut into about
  // target_shards shards, so that many ranks can read it in parallel, but none smaller than
  // min_events_per_shard events (many tiny files cost more to open than to read) nor larger than
  // max_events_per_shard. 0 = no target: shards grow to max_events_per_shard.
  int64_t target_shards = 64;
  int64_t min_events_per_shard = 8192;
  int64_t chunk_elements = 65536;  // HDF5 chunk length of every dataset (clamped to its length)
  int compression_level = 4;       // deflate level 1..9
  bool overwrite = false;          // allow writing into a non-empty directory (old shard set is removed)
  bool fsync = true;               // fsync each shard before its rename (off only for throw-away data;
                                   // the manifest is always fsynced)
  // Test hook: throw while shard number `fail_in_shard` (counted over the whole set, from 0) is
  // half written, as a crash would. -1 = never.
  int64_t fail_in_shard = -1;
};

// Streaming writer: add() sequences split by split in any number of calls, then finish(). A writer
// destroyed without finish() (an exception) removes its temporary files and writes no manifest;
// after a failed write to disk it refuses further add() and finish(). Input that fails validation
// is rejected before anything of it is buffered, and the writer stays usable.
class ShardSetWriter {
 public:
  ShardSetWriter(const std::string& dir, ManifestInfo info, ShardOptions options = {});
  ~ShardSetWriter();
  ShardSetWriter(const ShardSetWriter&) = delete;
  ShardSetWriter& operator=(const ShardSetWriter&) = delete;

  // Validates `sequences` (item ids in [1, V], user ids in the user table, column sizes) and
  // appends them to `split` (name of [A-Za-z0-9_]+; train/valid/test or all by convention).
  // Optional columns must be the same in every non-empty add() of the whole set. Input is not modified.
  void add(const std::string& split, const SequenceSet& sequences);
  // Declares a split that may stay empty (it then appears in the manifest with no shards).
  void add_split(const std::string& split);
  // Declares the split and how many events it will hold, before its first add(), so that its shards
  // are sized for ShardOptions::target_shards (shard_event_limit). Without it a split's shards grow
  // to max_events_per_shard.
  void plan_split(const std::string& split, int64_t events);
  // Flushes the last shards and writes manifest.json atomically. Returns the manifest written.
  nlohmann::json finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The event limit of each shard of a split of `split_events` events (0 = no limit).
int64_t shard_event_limit(int64_t split_events, const ShardOptions& options);

// One-call form of ShardSetWriter (every split planned).
nlohmann::json write_shard_set(const std::string& dir, const ManifestInfo& info,
                               const std::map<std::string, SequenceSet>& splits, const ShardOptions& options = {});

struct ShardEntry {
  std::string file;  // name inside the directory, e.g. "train-00003.h5"
  int64_t sequences = 0;
  int64_t events = 0;
  int64_t bytes = 0;   // file size
  uint32_t crc32 = 0;  // zlib CRC-32 of the whole file
};

struct SplitInfo {
  std::string name;
  std::vector<ShardEntry> shards;  // index k ↔ file <name>-<kkkkk>.h5
  int64_t sequences = 0;
  int64_t events = 0;
  int64_t num_shards() const { return int64_t(shards.size()); }
};

// A parsed manifest. Opening checks the format version and that every listed shard file exists;
// shard contents are checked by ShardReader when it reaches them.
class ShardSet {
 public:
  static ShardSet open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& manifest() const { return manifest_; }
  const nlohmann::json& extra() const { return manifest_.at("extra"); }
  const std::string& source() const { return source_; }
  int64_t num_items() const { return num_items_; }  // V: item ids are 1..V
  int64_t num_users() const { return int64_t(user_ids_.size()); }
  const std::vector<std::string>& item_ids() const { return item_ids_; }  // (V) or empty
  const std::vector<int64_t>& item_counts() const { return item_counts_; }  // (V)
  const std::vector<std::string>& user_ids() const { return user_ids_; }  // (U) or empty
  // Column names present: offsets, item, user always; timestamp, action, label, seq_label if stored.
  const std::vector<std::string>& columns() const { return columns_; }
  bool has_column(const std::string& name) const;

  std::vector<std::string> split_names() const;
  bool has_split(const std::string& name) const { return splits_.count(name) != 0; }
  const SplitInfo& split(const std::string& name) const;  // throws naming the splits there are
  std::string shard_path(const std::string& split, int64_t index) const;

 private:
  std::string dir_;
  nlohmann::json manifest_;
  std::string source_;
  int64_t num_items_ = 0;
  std::vector<std::string> item_ids_;
  std::vector<int64_t> item_counts_;
  std::vector<std::string> user_ids_;
  std::vector<std::string> columns_;
  std::map<std::string, SplitInfo> splits_;
};

enum class ShardAssignment {
  kRoundRobin,  // rank r gets shards r, r + world, r + 2·world, ...
  kContiguous,  // rank r gets one contiguous block; block sizes differ by at most one
};

// The shard indices rank `rank` of `world` reads; every shard goes to exactly one rank. A rank may
// get none when there are fewer shards than ranks.
std::vector<int64_t> assign_shards(int64_t num_shards, int rank, int world,
                                   ShardAssignment how = ShardAssignment::kRoundRobin);

struct ShardReaderOptions {
  bool verify_checksum = true;  // CRC-32 of each shard file against the manifest before reading it
};

// Streams the sequences of some shards of one split, in the order the shard indices are given,
// holding one shard in memory at a time. Each shard is checked before use (file size and CRC-32
// against the manifest, format version, split, shard index and counts in its attributes, CSR
// consistency); a failure throws seqmend::Error naming the file.
class ShardReader {
 public:
  ShardReader(const ShardSet& set, const std::string& split);  // all shards, default options
  ShardReader(const ShardSet& set, const std::string& split, std::vector<int64_t> shard_indices,
              ShardReaderOptions options = {});
  ~ShardReader();
  ShardReader(ShardReader&&) noexcept;
  ShardReader& operator=(ShardReader&&) noexcept;

  // Replaces `batch` with the next sequences: at most `max_sequences`, and, when max_events > 0,
  // at most max_events events unless a single sequence is longer (it then comes alone). Batches
  // run across shard boundaries. Returns false (and an empty batch) when nothing is left.
  bool next(SequenceSet& batch, int64_t max_sequences, int64_t max_events = 0);
  void rewind();  // start again from the first selected shard

  const std::vector<int64_t>& shard_indices() const;
  int64_t num_sequences() const;  // over the selected shards, from the manifest
  int64_t num_events() const;
  int64_t sequences_read() const;  // since construction or rewind()

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Reads a whole split into one SequenceSet (all shards, in order).
SequenceSet load_split(const std::string& dir, const std::string& split);
SequenceSet load_split(const ShardSet& set, const std::string& split);

// The length of every sequence of `split`, in order, from the shards' offsets alone: a pass that
// reads a few bytes per sequence instead of the events (each shard's size is checked against the
// manifest, its CRC-32 only when its sequences are read).
std::vector<int64_t> read_sequence_lengths(const ShardSet& set, const std::string& split);

// Shard file name for (split, index): "train-00003.h5".
std::string shard_file_name(const std::string& split, int64_t index);

}  // namespace seqmend
