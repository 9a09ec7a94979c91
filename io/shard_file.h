// One shard file: a CSR slice of a SequenceSet as chunked, compressed, fletcher32-checked HDF5
// datasets plus identifying attributes. Used by the shard-set writer and reader (io/shard_set.h);
// the layout is described for users in io/FORMAT.md.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "io/sequence_set.h"
#include "io/shard_set.h"

namespace seqmend {

// Which optional columns a shard set stores.
struct ShardColumns {
  bool timestamp = false, action = false, label = false, seq_label = false;

  std::vector<std::string> names() const;  // "offsets", "item", "user", then the optional ones stored
  static ShardColumns from_names(const std::vector<std::string>& names, const std::string& where);
  static ShardColumns of(const SequenceSet& s);
  bool operator==(const ShardColumns&) const = default;
};

// What a shard must be, from the writer's plan or the manifest.
struct ShardIdentity {
  std::string split;
  int64_t index = 0;
  int64_t sequences = 0;
  int64_t events = 0;
  int64_t num_items = 0;  // V; item ids must lie in [1, V]
  int64_t num_users = 0;  // U; user ids must lie in [0, U) when U > 0
  ShardColumns columns;
};

// Writes `s` as one shard file at `path` (the caller's temporary name). Columns not in
// `id.columns` are not stored. `fail_midway` throws after part of the file is written (test hook).
void write_shard_file(const std::string& path, const SequenceSet& s, const ShardIdentity& id,
                      const ShardOptions& options, bool fail_midway = false);

// Reads the shard at `path`, checking its attributes and contents against `id`; throws
// seqmend::Error naming `path` on any mismatch or HDF5 read failure (a fletcher32 error included).
SequenceSet read_shard_file(const std::string& path, const ShardIdentity& id);

// The `offsets` column of the shard at `path` alone (its identity checked against `id`, the offsets
// against its event count): what a pass over sequence lengths needs, without reading the events.
// The file's CRC-32 is not checked (that would read it all); fletcher32 still covers the offsets.
std::vector<int64_t> read_shard_offsets(const std::string& path, const ShardIdentity& id);

// Appends sequences [begin, end) of `src` to `dst` (columns dst lacks are started when dst is empty).
void append_sequences(SequenceSet& dst, const SequenceSet& src, int64_t begin, int64_t end);

// The HDF5 library here is built without thread safety; every HDF5 call in seqmend holds this.
std::mutex& hdf5_mutex();

}  // namespace seqmend
