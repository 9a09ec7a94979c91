// ShardSet (the parsed manifest), ShardReader (streams the sequences of some shards of a split),
// load_split and the rank → shards assignment.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/base/error.h"
#include "io/file_checksum.h"
#include "io/shard_file.h"
#include "io/shard_set.h"

namespace seqmend {
namespace fs = std::filesystem;

namespace {

// manifest.at(key) with an error naming the manifest and the key instead of nlohmann's bare one.
template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& where) {
  SEQ_CHECK(j.is_object() && j.contains(key), where, ": missing field '", key, "'");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    SEQ_FAIL(where, ": field '", key, "' has the wrong type (", e.what(), ")");
  }
}

}  // namespace

ShardSet ShardSet::open(const std::string& dir) {
  ShardSet set;
  set.dir_ = dir;
  const std::string path = (fs::path(dir) / "manifest.json").string();
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    SEQ_CHECK(fs::is_directory(dir, ec), "shard set '", dir, "': no such directory");
    SEQ_FAIL(path, ": missing manifest; the directory is not a shard set or its write did not finish",
             " (HINT: rewrite it)");
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    set.manifest_ = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range on a number overflow
    SEQ_FAIL(path, ": not valid JSON: ", e.what());
  }
  const nlohmann::json& m = set.manifest_;
  SEQ_CHECK(m.is_object(), path, ": not a JSON object");
  const int version = field<int>(m, "format_version", path);
  SEQ_CHECK(version == kShardFormatVersion, path, ": format version ", version, ", expected ", kShardFormatVersion,
            " (HINT: rewrite the shard set with this seqmend version)");
  set.source_ = field<std::string>(m, "source", path);
  set.num_items_ = field<int64_t>(m, "num_items", path);
  SEQ_CHECK(set.num_items_ > 0, path, ": num_items = ", set.num_items_, " must be positive");
  const nlohmann::json& items = m.contains("items") ? m.at("items") : nlohmann::json();
  set.item_ids_ = field<std::vector<std::string>>(items, "ids", path + " items");
  set.item_counts_ = field<std::vector<int64_t>>(items, "counts", path + " items");
  SEQ_CHECK(set.item_ids_.empty() || int64_t(set.item_ids_.size()) == set.num_items_, path, ": ",
            set.item_ids_.size(), " item ids for num_items = ", set.num_items_);
  SEQ_CHECK(int64_t(set.item_counts_.size()) == set.num_items_, path, ": ", set.item_counts_.size(),
            " item counts for num_items = ", set.num_items_);
  const nlohmann::json& users = m.contains("users") ? m.at("users") : nlohmann::json();
  set.user_ids_ = field<std::vector<std::string>>(users, "ids", path + " users");
  set.columns_ = field<std::vector<std::string>>(m, "columns", path);
  ShardColumns::from_names(set.columns_, path);
  if (!m.contains("extra")) set.manifest_["extra"] = nlohmann::json::object();

  const nlohmann::json& splits = m.contains("splits") ? m.at("splits") : nlohmann::json();
  SEQ_CHECK(splits.is_object(), path, ": missing or malformed field 'splits'");
  int64_t total_sequences = 0, total_events = 0;
  for (const auto& [name, sj] : splits.items()) {
    const std::string where = str(path, " split '", name, "'");
    SplitInfo info;
    info.name = name;
    SEQ_CHECK(sj.contains("shards") && sj.at("shards").is_array(), where, ": missing field 'shards'");
    for (const auto& shj : sj.at("shards")) {
      ShardEntry e;
      const std::string w = str(where, " shard ", info.shards.size());
      e.file = field<std::string>(shj, "file", w);
      e.sequences = field<int64_t>(shj, "sequences", w);
      e.events = field<int64_t>(shj, "events", w);
      e.bytes = field<int64_t>(shj, "bytes", w);
      e.crc32 = field<uint32_t>(shj, "crc32", w);
      const std::string expect = shard_file_name(name, int64_t(info.shards.size()));
      SEQ_CHECK(e.file == expect, w, ": file '", e.file, "', expected '", expect, "'");
      const std::string shard_path = (fs::path(dir) / e.file).string();
      std::error_code ec;
      SEQ_CHECK(fs::exists(shard_path, ec), shard_path, ": shard file listed in ", path, " is missing");
      // Counts size allocations later: a damaged or hostile manifest must fail here, not in new[].
      // Deflate shrinks data at most ~1000-fold, and an event stores at least its 4-byte item (a
      // sequence its 8-byte offset), so no real shard holds more than 300 of either per file byte.
      SEQ_CHECK(e.sequences >= 0 && e.events >= 0 && e.bytes > 0, w, ": negative count (sequences ", e.sequences,
                ", events ", e.events, ", bytes ", e.bytes, ")");
      const auto on_disk = int64_t(fs::file_size(shard_path, ec));
      SEQ_CHECK(!ec && on_disk == e.bytes, shard_path, ": file is ", ec ? -1 : on_disk, " bytes, the manifest says ",
                e.bytes, on_disk < e.bytes ? " (truncated file)" : " (file was changed)");
      SEQ_CHECK(e.events <= 300 * e.bytes && e.sequences <= 300 * e.bytes, w, ": ", e.sequences, " sequences and ",
                e.events, " events cannot fit in a file of ", e.bytes, " bytes (damaged manifest)");
      info.sequences += e.sequences;
      info.events += e.events;
      info.shards.push_back(e);
    }
    SEQ_CHECK(info.sequences == field<int64_t>(sj, "sequences", where) &&
                  info.events == field<int64_t>(sj, "events", where),
              where, ": totals do not match the sum over its shards");
    total_sequences += info.sequences;
    total_events += info.events;
    set.splits_[name] = std::move(info);
  }
  // The top-level totals are what tools read first; they must agree with the splits.
  if (m.contains("num_sequences") || m.contains("num_events"))
    SEQ_CHECK(field<int64_t>(m, "num_sequences", path) == total_sequences &&
                  field<int64_t>(m, "num_events", path) == total_events,
              path, ": num_sequences ", m.value("num_sequences", nlohmann::json()).dump(), " and num_events ",
              m.value("num_events", nlohmann::json()).dump(), " do not match the splits' totals ", total_sequences,
              " and ", total_events);
  return set;
}

bool ShardSet::has_column(const std::string& name) const {
  return std::find(columns_.begin(), columns_.end(), name) != columns_.end();
}

std::vector<std::string> ShardSet::split_names() const {
  std::vector<std::string> out;
  for (const auto& [name, info] : splits_) out.push_back(name);
  return out;
}

const SplitInfo& ShardSet::split(const std::string& name) const {
  auto it = splits_.find(name);
  if (it == splits_.end()) {
    std::string have;
    for (const auto& [n, info] : splits_) have += (have.empty() ? "" : ", ") + n;
    SEQ_FAIL("shard set '", dir_, "': no split '", name, "' (it has: ", have.empty() ? "none" : have, ")");
  }
  return it->second;
}

std::string ShardSet::shard_path(const std::string& split_name, int64_t index) const {
  const SplitInfo& s = split(split_name);
  SEQ_CHECK(index >= 0 && index < s.num_shards(), "shard set '", dir_, "': split '", split_name, "' has ",
            s.num_shards(), " shards, no shard ", index);
  return (fs::path(dir_) / s.shards[size_t(index)].file).string();
}

std::vector<int64_t> assign_shards(int64_t num_shards, int rank, int world, ShardAssignment how) {
  SEQ_CHECK(world > 0 && rank >= 0 && rank < world, "assign_shards: rank ", rank, " outside world of ", world);
  SEQ_CHECK(num_shards >= 0, "assign_shards: num_shards = ", num_shards);
  std::vector<int64_t> out;
  if (how == ShardAssignment::kRoundRobin) {
    for (int64_t k = rank; k < num_shards; k += world) out.push_back(k);
  } else {
    const int64_t base = num_shards / world, rem = num_shards % world;
    const int64_t begin = rank * base + std::min<int64_t>(rank, rem);
    const int64_t count = base + (rank < rem ? 1 : 0);
    for (int64_t k = begin; k < begin + count; ++k) out.push_back(k);
  }
  return out;
}

struct ShardReader::State {
  std::string dir;
  std::string split;
  ShardReaderOptions options;
  ShardIdentity proto;  // columns, vocabulary and user-table sizes shared by every shard
  std::vector<ShardEntry> entries;
  std::vector<int64_t> indices;
  int64_t total_sequences = 0, total_events = 0;

  size_t next_shard = 0;  // position in `indices` of the next shard to load
  SequenceSet current;    // the loaded shard
  int64_t pos = 0;        // next sequence of `current`
  int64_t read = 0;

  void load(size_t k);
};

namespace {

// What every shard of `split` shares: columns, vocabulary and user-table sizes.
ShardIdentity split_identity(const ShardSet& set, const std::string& split) {
  ShardIdentity id;
  id.split = split;
  id.num_items = set.num_items();
  id.num_users = set.num_users();
  id.columns = ShardColumns::from_names(set.columns(), set.dir() + "/manifest.json");
  return id;
}

// A stat, not a read: a truncated or rewritten shard is caught before HDF5 sees it.
void check_shard_size(const std::string& path, const ShardEntry& e) {
  const int64_t size = file_size(path);
  SEQ_CHECK(size == e.bytes, path, ": file is ", size, " bytes, the manifest says ", e.bytes,
            size < e.bytes ? " (truncated file)" : " (file was changed)");
}

}  // namespace

void ShardReader::State::load(size_t k) {
  const ShardEntry& e = entries[k];
  const std::string path = (fs::path(dir) / e.file).string();
  check_shard_size(path, e);
  if (options.verify_checksum) {
    const uint32_t crc = file_crc32(path);
    SEQ_CHECK(crc == e.crc32, path, ": checksum mismatch: CRC-32 ", crc, ", the manifest says ", e.crc32,
              " (the file is damaged)");
  }
  ShardIdentity id = proto;
  id.index = indices[k];
  id.sequences = e.sequences;
  id.events = e.events;
  current = read_shard_file(path, id);
  pos = 0;
}

ShardReader::ShardReader(const ShardSet& set, const std::string& split)
    : ShardReader(set, split, assign_shards(set.split(split).num_shards(), 0, 1)) {}

ShardReader::ShardReader(const ShardSet& set, const std::string& split, std::vector<int64_t> shard_indices,
                         ShardReaderOptions options)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  const SplitInfo& info = set.split(split);
  st.dir = set.dir();
  st.split = split;
  st.options = options;
  st.proto = split_identity(set, split);
  for (int64_t k : shard_indices) {
    SEQ_CHECK(k >= 0 && k < info.num_shards(), "ShardReader: split '", split, "' of '", set.dir(), "' has ",
              info.num_shards(), " shards, no shard ", k);
    st.entries.push_back(info.shards[size_t(k)]);
    st.total_sequences += info.shards[size_t(k)].sequences;
    st.total_events += info.shards[size_t(k)].events;
  }
  st.indices = std::move(shard_indices);
}

ShardReader::~ShardReader() = default;
ShardReader::ShardReader(ShardReader&&) noexcept = default;
ShardReader& ShardReader::operator=(ShardReader&&) noexcept = default;

bool ShardReader::next(SequenceSet& batch, int64_t max_sequences, int64_t max_events) {
  SEQ_CHECK(max_sequences > 0, "ShardReader::next: max_sequences = ", max_sequences, " must be positive");
  State& st = *state_;
  // Reuse the batch's buffers: clear, not reallocate.
  batch.offsets.assign(1, 0);
  batch.item.clear();
  batch.timestamp.clear();
  batch.action.clear();
  batch.user.clear();
  batch.label.clear();
  batch.seq_label.clear();
  const int64_t event_cap = max_events > 0 ? max_events : std::numeric_limits<int64_t>::max();
  while (batch.num_sequences() < max_sequences) {
    if (st.pos >= st.current.num_sequences()) {
      if (st.next_shard >= st.entries.size()) break;
      st.load(st.next_shard++);
      continue;
    }
    const SequenceSet& cur = st.current;
    int64_t end = st.pos, ev = batch.num_events();
    const int64_t end_cap = st.pos + std::min(cur.num_sequences() - st.pos, max_sequences - batch.num_sequences());
    // A sequence longer than the event budget still comes out, alone in its batch.
    while (end < end_cap && (ev + cur.length(end) <= event_cap || batch.num_sequences() + (end - st.pos) == 0)) {
      ev += cur.length(end);
      ++end;
    }
    if (end == st.pos) break;  // the event budget is spent
    append_sequences(batch, cur, st.pos, end);
    st.read += end - st.pos;
    st.pos = end;
    if (ev >= event_cap) break;
  }
  return batch.num_sequences() > 0;
}

void ShardReader::rewind() {
  State& st = *state_;
  st.next_shard = 0;
  st.current = SequenceSet();
  st.pos = 0;
  st.read = 0;
}

const std::vector<int64_t>& ShardReader::shard_indices() const { return state_->indices; }
int64_t ShardReader::num_sequences() const { return state_->total_sequences; }
int64_t ShardReader::num_events() const { return state_->total_events; }
int64_t ShardReader::sequences_read() const { return state_->read; }

SequenceSet load_split(const ShardSet& set, const std::string& split) {
  ShardReader reader(set, split);
  SequenceSet all, batch;
  all.item.reserve(size_t(reader.num_events()));
  all.offsets.reserve(size_t(reader.num_sequences()) + 1);
  while (reader.next(batch, std::numeric_limits<int64_t>::max())) append_sequences(all, batch, 0, batch.num_sequences());
  return all;
}

std::vector<int64_t> read_sequence_lengths(const ShardSet& set, const std::string& split) {
  const SplitInfo& info = set.split(split);
  ShardIdentity id = split_identity(set, split);
  std::vector<int64_t> lengths;
  lengths.reserve(size_t(info.sequences));
  for (int64_t k = 0; k < info.num_shards(); ++k) {
    const ShardEntry& e = info.shards[size_t(k)];
    const std::string path = (fs::path(set.dir()) / e.file).string();
    check_shard_size(path, e);
    id.index = k;
    id.sequences = e.sequences;
    id.events = e.events;
    const std::vector<int64_t> offsets = read_shard_offsets(path, id);
    for (size_t s = 0; s + 1 < offsets.size(); ++s) lengths.push_back(offsets[s + 1] - offsets[s]);
  }
  return lengths;
}

SequenceSet load_split(const std::string& dir, const std::string& split) {
  return load_split(ShardSet::open(dir), split);
}

}  // namespace seqmend
