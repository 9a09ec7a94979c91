// ShardSetWriter: buffers each split's sequences until a shard is full, writes the shard under a
// temporary name, fsyncs and renames it, and writes manifest.json last.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <regex>

#include "core/base/error.h"
#include "core/base/wall_clock.h"
#include "io/atomic_file.h"
#include "io/fault_injection.h"
#include "io/file_checksum.h"
#include "io/shard_file.h"
#include "io/shard_set.h"

#ifndef SEQMEND_VERSION
#define SEQMEND_VERSION "unknown"
#endif

namespace seqmend {
namespace fs = std::filesystem;

namespace {

bool valid_split_name(const std::string& s) {
  static const std::regex re("[A-Za-z0-9_]+");
  return std::regex_match(s, re);
}

// Files a previous shard set (or a crashed write of one) leaves in its directory.
bool is_shard_set_file(const std::string& name) {
  static const std::regex re("\\.?(manifest\\.json|[A-Za-z0-9_]+-[0-9]{5}\\.h5)(\\.tmp\\..*)?");
  return std::regex_match(name, re);
}

nlohmann::json action_codes() {
  nlohmann::json j = nlohmann::json::object();
  for (int c = 0; c < kActionRatingBase; ++c)
    if (action_name(c)) j[std::to_string(c)] = action_name(c);
  for (int r = 1; r <= 5; ++r) j[std::to_string(kActionRatingBase + r)] = str("rating_", r);
  return j;
}

nlohmann::json label_codes() {
  nlohmann::json j = nlohmann::json::object();
  for (int c = 0; c < 128; ++c)
    if (std::string(anomaly_label_name(c)) != "unknown") j[std::to_string(c)] = anomaly_label_name(c);
  return j;
}

}  // namespace

struct ShardSetWriter::State {
  struct Split {
    SequenceSet pending;  // sequences not yet in a shard
    SplitInfo info;
    int64_t max_events = -1;  // from plan_split; -1 = unplanned (options.max_events_per_shard)
  };
  std::string dir;
  ManifestInfo info;
  ShardOptions options;
  int64_t num_items = 0;
  bool event_columns_known = false;  // timestamp, action, label: fixed by the first add() with events
  bool seq_columns_known = false;    // seq_label: fixed by the first non-empty add()
  ShardColumns columns;
  std::vector<int64_t> item_counts;  // (V) counted from the data when the producer gave none
  std::map<std::string, Split> splits;
  int64_t shards_written = 0;
  bool finished = false;
  bool failed = false;  // an add() or finish() threw: buffered state is partial, refuse to go on

  void append(const std::string& split, const SequenceSet& s);  // cuts full shards as it goes
  void flush(const std::string& name, Split& sp);                // writes the open shard, if any
};

void ShardSetWriter::State::flush(const std::string& name, Split& sp) {
  if (sp.pending.num_sequences() == 0) return;
  ShardIdentity id;
  id.split = name;
  id.index = sp.info.num_shards();
  id.sequences = sp.pending.num_sequences();
  id.events = sp.pending.num_events();
  id.num_items = num_items;
  id.num_users = int64_t(info.user_ids.size());
  id.columns = columns;
  ShardEntry entry;
  entry.file = shard_file_name(name, id.index);
  // Destroying an uncommitted AtomicFile (an exception) removes the temporary file.
  AtomicFile file((fs::path(dir) / entry.file).string());
  write_shard_file(file.temp_path(), sp.pending, id, options, shards_written == options.fail_in_shard);
  entry.bytes = file_size(file.temp_path());
  entry.crc32 = file_crc32(file.temp_path());
  if (options.fsync) {
    file.commit();
  } else {
    // Same rename, no fsync; the AtomicFile's clean-up then finds no temporary file to remove.
    if (fault_point(FaultOp::rename, file.path())) SEQ_FAIL("ShardSetWriter: ", fault_message(FaultOp::rename, file.path()));
    SEQ_CHECK(std::rename(file.temp_path().c_str(), file.path().c_str()) == 0, "rename '", file.temp_path(),
              "' -> '", file.path(), "' failed");
  }
  entry.sequences = id.sequences;
  entry.events = id.events;
  sp.info.sequences += entry.sequences;
  sp.info.events += entry.events;
  sp.info.shards.push_back(entry);
  ++shards_written;
  sp.pending = SequenceSet();
}

ShardSetWriter::ShardSetWriter(const std::string& dir, ManifestInfo info, ShardOptions options)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  st.dir = dir;
  st.options = options;
  const int64_t named = int64_t(info.item_ids.size());
  SEQ_CHECK(named > 0 || info.num_items > 0, "ShardSetWriter '", dir,
            "': the item vocabulary is empty (give ManifestInfo::item_ids or num_items)");
  SEQ_CHECK(named == 0 || info.num_items == 0 || info.num_items == named, "ShardSetWriter '", dir,
            "': num_items = ", info.num_items, " but ", named, " item ids are given");
  st.num_items = named > 0 ? named : info.num_items;
  SEQ_CHECK(info.item_counts.empty() || int64_t(info.item_counts.size()) == st.num_items, "ShardSetWriter '", dir,
            "': ", info.item_counts.size(), " item counts for ", st.num_items, " items");
  SEQ_CHECK(info.extra.is_object(), "ShardSetWriter '", dir, "': ManifestInfo::extra must be a JSON object");
  SEQ_CHECK(options.max_events_per_shard >= 0 && options.max_sequences_per_shard >= 0 &&
                options.target_shards >= 0 && options.min_events_per_shard >= 0,
            "ShardSetWriter '", dir, "': shard size limits must be >= 0");
  if (info.item_counts.empty()) st.item_counts.assign(size_t(st.num_items), 0);
  st.info = std::move(info);

  std::error_code ec;
  if (fs::exists(dir, ec)) {
    SEQ_CHECK(fs::is_directory(dir, ec), "ShardSetWriter: '", dir, "' exists and is not a directory");
    std::vector<fs::path> ours;
    std::string first_other;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (is_shard_set_file(e.path().filename().string())) ours.push_back(e.path());
      else if (first_other.empty()) first_other = e.path().filename().string();
    }
    if (!ours.empty() || !first_other.empty()) {
      SEQ_CHECK(options.overwrite, "ShardSetWriter: directory '", dir, "' is not empty (it holds '",
                ours.empty() ? first_other : ours.front().filename().string(),
                "'). HINT: choose a new directory or allow overwriting (ShardOptions::overwrite)");
      // Remove the manifest first: from here on the old set no longer looks whole.
      fs::path manifest = fs::path(dir) / "manifest.json";
      if (fs::exists(manifest)) {
        fs::remove(manifest);
        fsync_directory(dir);
      }
      for (const auto& p : ours) fs::remove(p, ec);
    }
  } else {
    fs::create_directories(dir, ec);
    SEQ_CHECK(!ec, "ShardSetWriter: cannot create directory '", dir, "': ", ec.message());
  }
}

ShardSetWriter::~ShardSetWriter() = default;  // temporaries are removed where they are made

void ShardSetWriter::add_split(const std::string& split) {
  SEQ_CHECK(!state_->finished, "ShardSetWriter::add_split('", split, "'): the writer has finished");
  SEQ_CHECK(valid_split_name(split), "ShardSetWriter: split name '", split,
            "' must be letters, digits and '_' (train, valid, test, all)");
  state_->splits[split];
}

int64_t shard_event_limit(int64_t split_events, const ShardOptions& o) {
  const int64_t max_e = o.max_events_per_shard;
  if (o.target_shards <= 0) return max_e;
  int64_t limit = std::max(o.min_events_per_shard, (split_events + o.target_shards - 1) / o.target_shards);
  if (max_e > 0) limit = std::min(limit, max_e);
  return std::max<int64_t>(limit, 1);
}

void ShardSetWriter::plan_split(const std::string& split, int64_t events) {
  SEQ_CHECK(events >= 0, "ShardSetWriter::plan_split('", split, "'): ", events, " events");
  add_split(split);
  State::Split& sp = state_->splits[split];
  SEQ_CHECK(sp.info.sequences == 0 && sp.pending.num_sequences() == 0, "ShardSetWriter::plan_split('", split,
            "'): sequences were added before the plan");
  sp.max_events = shard_event_limit(events, state_->options);
}

void ShardSetWriter::add(const std::string& split, const SequenceSet& s) {
  State& st = *state_;
  SEQ_CHECK(!st.failed, "ShardSetWriter::add('", split, "'): an earlier error stopped the write of '", st.dir, "'");
  add_split(split);
  if (s.num_sequences() == 0) return;
  const std::string where = str("ShardSetWriter::add('", split, "') in '", st.dir, "'");
  try {
    s.validate(st.num_items);
  } catch (const Error& e) {
    SEQ_FAIL(where, ": ", e.what());
  }
  const int64_t num_users = int64_t(st.info.user_ids.size());
  for (size_t i = 0; i < s.user.size(); ++i)
    SEQ_CHECK(s.user[i] >= 0 && (num_users == 0 || s.user[i] < num_users), where, ": sequence ", i,
              " has user id ", s.user[i], " outside the user table [0, ", num_users, ")");
  auto check_codes = [&](const std::vector<int8_t>& v, const char* col) {
    for (size_t i = 0; i < v.size(); ++i)
      SEQ_CHECK(std::string(anomaly_label_name(v[i])) != "unknown", where, ": ", col, "[", i,
                "] = ", int(v[i]), " is not an anomaly label code");
  };
  check_codes(s.label, "label");
  check_codes(s.seq_label, "seq_label");

  // The event columns of a set whose sequences are all empty say nothing (they are empty either
  // way), so only sets with events fix or check them.
  ShardColumns cols = ShardColumns::of(s);
  auto names = [](const ShardColumns& c) {
    std::string out;
    for (const auto& n : c.names()) out += " " + n;
    return out;
  };
  ShardColumns want = st.columns;
  if (s.num_events() > 0) {
    if (!st.event_columns_known) {
      want.timestamp = cols.timestamp;
      want.action = cols.action;
      want.label = cols.label;
    }
  } else {
    // Take the known event columns so that only seq_label is compared.
    cols.timestamp = want.timestamp, cols.action = want.action, cols.label = want.label;
  }
  if (!st.seq_columns_known) want.seq_label = cols.seq_label;
  SEQ_CHECK(cols == want, where, ": columns {", names(cols), " } differ from earlier data {", names(want),
            " }; every split must store the same columns");
  st.columns = want;
  st.seq_columns_known = true;
  st.event_columns_known = st.event_columns_known || s.num_events() > 0;
  if (st.info.item_counts.empty())
    for (int32_t it : s.item) ++st.item_counts[size_t(it - 1)];

  try {
    st.append(split, s);
  } catch (...) {
    st.failed = true;
    throw;
  }
}

void ShardSetWriter::State::append(const std::string& split, const SequenceSet& s) {
  Split& sp = splits[split];
  const int64_t max_e = sp.max_events >= 0 ? sp.max_events : options.max_events_per_shard;
  const int64_t max_s = options.max_sequences_per_shard;
  int64_t begin = 0;
  const int64_t n = s.num_sequences();
  while (begin < n) {
    // Take the longest run of sequences that fits the open shard; a sequence longer than a whole
    // shard gets a shard of its own.
    int64_t end = begin;
    int64_t ev = sp.pending.num_events(), sq = sp.pending.num_sequences();
    while (end < n) {
      int64_t len = s.length(end);
      bool empty = sq == 0;
      if (!empty && ((max_e > 0 && ev + len > max_e) || (max_s > 0 && sq + 1 > max_s))) break;
      ev += len;
      ++sq;
      ++end;
    }
    if (end == begin) {
      flush(split, sp);
      continue;
    }
    append_sequences(sp.pending, s, begin, end);
    begin = end;
    if ((max_e > 0 && sp.pending.num_events() >= max_e) || (max_s > 0 && sp.pending.num_sequences() >= max_s))
      flush(split, sp);
  }
}

nlohmann::json ShardSetWriter::finish() {
  State& st = *state_;
  SEQ_CHECK(!st.finished, "ShardSetWriter::finish: called twice for '", st.dir, "'");
  SEQ_CHECK(!st.failed, "ShardSetWriter::finish: an earlier error stopped the write of '", st.dir, "'");
  try {
    for (auto& [name, sp] : st.splits) st.flush(name, sp);
  } catch (...) {
    st.failed = true;
    throw;
  }

  using nlohmann::json;
  const ShardOptions& o = st.options;
  json splits = json::object();
  int64_t total_seq = 0, total_ev = 0;
  for (const auto& [name, sp] : st.splits) {
    json shards = json::array();
    for (const auto& e : sp.info.shards)
      shards.push_back({{"file", e.file}, {"sequences", e.sequences}, {"events", e.events}, {"bytes", e.bytes},
                        {"crc32", e.crc32}});
    splits[name] = {{"sequences", sp.info.sequences},
                    {"events", sp.info.events},
                    {"events_per_shard", sp.max_events >= 0 ? sp.max_events : o.max_events_per_shard},
                    {"shards", shards}};
    total_seq += sp.info.sequences;
    total_ev += sp.info.events;
  }
  json m = {
      {"format", "seqmend-shards"},
      {"format_version", kShardFormatVersion},
      {"seqmend_version", SEQMEND_VERSION},
      {"created", utc_now_iso8601()},
      {"source", st.info.source},
      {"num_items", st.num_items},
      {"num_users", int64_t(st.info.user_ids.size())},
      {"num_sequences", total_seq},
      {"num_events", total_ev},
      {"columns", st.columns.names()},
      {"items",
       {{"ids", st.info.item_ids}, {"counts", st.info.item_counts.empty() ? st.item_counts : st.info.item_counts}}},
      {"users", {{"ids", st.info.user_ids}}},
      {"label_codes", label_codes()},
      {"action_codes", action_codes()},
      {"checksum", "crc32"},
      {"shard_options",
       {{"max_events_per_shard", o.max_events_per_shard},
        {"max_sequences_per_shard", o.max_sequences_per_shard},
        {"target_shards", o.target_shards},
        {"min_events_per_shard", o.min_events_per_shard},
        {"chunk_elements", o.chunk_elements},
        {"compression", str("shuffle+deflate-", o.compression_level, "+fletcher32")}}},
      {"splits", splits},
      {"extra", st.info.extra},
  };
  write_file_atomic((fs::path(st.dir) / "manifest.json").string(), m.dump(1) + "\n");
  st.finished = true;
  return m;
}

nlohmann::json write_shard_set(const std::string& dir, const ManifestInfo& info,
                               const std::map<std::string, SequenceSet>& splits, const ShardOptions& options) {
  ShardSetWriter w(dir, info, options);
  for (const auto& [name, s] : splits) {
    w.plan_split(name, s.num_events());
    w.add(name, s);
  }
  return w.finish();
}

std::string shard_file_name(const std::string& split, int64_t index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05lld", static_cast<long long>(index));
  return split + "-" + buf + ".h5";
}

}  // namespace seqmend
