#include "io/ingest.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/base/error.h"
#include "io/cleaning.h"
#include "io/config.h"
#include "io/log_parsers.h"
#include "io/published_dir.h"

namespace seqmend {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

nlohmann::json step_record(const char* name, const EventTable& t, nlohmann::json detail, double seconds) {
  nlohmann::json rec = {{"step", name},
                        {"events", t.size()},
                        {"users", count_distinct_users(t)},
                        {"items", count_distinct_items(t)},
                        {"seconds", seconds}};
  if (!detail.is_null()) rec["detail"] = std::move(detail);
  return rec;
}

std::string dataset_name(const IngestOptions& opts, const std::string& path) {
  if (!opts.dataset.empty()) return opts.dataset;
  return std::filesystem::path(path).stem().string();
}

}  // namespace

namespace {

// Everything up to the splits: the cleaned sequences, the report and the manifest info without
// extra.split.
struct Prepared {
  SequenceSet sequences;
  nlohmann::json report;
  ManifestInfo info;
};

Prepared prepare(const IngestOptions& opts) {
  const auto t0 = Clock::now();
  ParseReport pr;
  EventTable t = parse_log(opts, pr);
  nlohmann::json steps = nlohmann::json::array();
  steps.push_back(step_record("parse", t,
                              {{"lines", pr.lines}, {"data_lines", pr.data_lines}, {"malformed", pr.malformed},
                               {"malformed_examples", pr.malformed_examples}, {"has_timestamps", t.has_timestamps()},
                               {"has_actions", t.has_actions()}, {"has_ratings", t.has_ratings()}},
                              seconds_since(t0)));
  const IngestCleanOptions& c = opts.clean;
  auto run = [&](const char* name, auto&& fn) {
    auto ts = Clock::now();
    nlohmann::json detail = fn();
    steps.push_back(step_record(name, t, std::move(detail), seconds_since(ts)));
  };
  run("keep_actions", [&] { return filter_actions(t, c.keep_actions); });
  run("sort", [&] { return sort_events(t); });
  run("dedupe", [&] { return c.dedupe ? drop_duplicates(t) : nlohmann::json{{"skipped", "clean.dedupe=false"}}; });
  run("ratings", [&] { return apply_ratings(t, c.rating, c.rating_threshold); });
  run("k_core", [&] { return k_core(t, c.min_user_events, c.min_item_events); });
  run("lengths", [&] { return clip_lengths(t, c.min_seq_len, c.max_seq_len); });

  auto tb = Clock::now();
  BuiltSequences built = build_sequences(t, c.item_order);
  t = EventTable{};  // no longer needed
  Prepared out;
  out.report = {{"format", opts.format},
                {"input", pr.file},
                {"steps", steps},
                {"final", {{"users", int64_t(built.user_ids.size())},
                           {"items", int64_t(built.item_ids.size())},
                           {"events", built.sequences.num_events()}}},
                {"user_order", "ascending original id (numeric ids) or first appearance (token ids); "
                               "user u of every split is user_ids[u]"},
                {"item_order", c.item_order == "frequency"
                                   ? "ids 1..V by descending event count, ties by first appearance after sorting"
                                   : "ids 1..V by first appearance after sorting by (user, time); 0 = padding"},
                {"tie_break", "events of one user with equal timestamps keep their order in the file"},
                {"build_seconds", seconds_since(tb)},
                {"prepare_seconds", seconds_since(t0)}};
  out.sequences = std::move(built.sequences);
  out.info.source = opts.format + " log " + pr.file;
  out.info.item_ids = std::move(built.item_ids);
  out.info.item_counts = std::move(built.item_counts);
  out.info.user_ids = std::move(built.user_ids);
  IngestOptions resolved = opts;  // the whole config, so the manifest says how to repeat the ingest
  out.info.extra = {{"dataset", dataset_name(opts, pr.file)},
                    {"ingest", out.report},
                    {"ingest_config_yaml", config_to_yaml(resolved)}};
  return out;
}

// Empties a set but keeps its buffers, so chunk after chunk reuses the same memory.
void clear_keep_capacity(SequenceSet& s) {
  s.offsets.resize(1);
  s.item.clear();
  s.timestamp.clear();
  s.action.clear();
  s.user.clear();
  s.label.clear();
  s.seq_label.clear();
}

}  // namespace

IngestResult ingest_prepare(const IngestOptions& opts) {
  Prepared p = prepare(opts);
  IngestResult out;
  out.splits = make_splits(p.sequences, opts.split);
  out.report = std::move(p.report);
  out.info = std::move(p.info);
  out.info.extra["split"] = out.splits.info;
  return out;
}

nlohmann::json ingest_to_dir(const IngestOptions& opts, const std::string& out_dir, bool overwrite) {
  SEQ_CHECK(!out_dir.empty(), "ingest: no output directory given (--out DIR)");
  PublishOptions po;
  po.overwrite = overwrite;
  po.fsync = opts.fsync;
  po.what = "ingest";
  po.hint = "choose a new directory or pass --overwrite to replace it";
  // Locked and checked before the (possibly long) parse rather than after it.
  PublishedDir out(out_dir, po);
  Prepared p = prepare(opts);
  const SequenceSet& all = p.sequences;
  // The manifest (fixed when the writer is made) carries the split counts: count first, then split
  // and write a chunk of users at a time.
  SplitBuilder counter(all, opts.split);
  counter.add(0, all.num_sequences(), nullptr);
  p.info.extra["split"] = counter.info();
  ShardOptions so;
  so.max_events_per_shard = opts.events_per_shard;
  so.target_shards = opts.target_shards;
  so.min_events_per_shard = opts.min_events_per_shard;
  so.fsync = opts.fsync;
  so.compression_level = int(opts.compression_level);
  ShardSetWriter writer(out.path(), p.info, so);
  for (const char* split : {"train", "valid", "test"})
    writer.plan_split(split, p.info.extra["split"]["counts"][split]["events"].get<int64_t>());
  SplitBuilder builder(all, opts.split);
  SplitSets chunk;
  constexpr int64_t kChunkEvents = 1 << 18;
  for (int64_t begin = 0, n = all.num_sequences(); begin < n;) {
    int64_t end = begin;
    while (end < n && all.offsets[size_t(end)] - all.offsets[size_t(begin)] < kChunkEvents) ++end;
    builder.add(begin, end, &chunk);
    writer.add("train", chunk.train);
    writer.add("valid", chunk.valid);
    writer.add("test", chunk.test);
    clear_keep_capacity(chunk.train);
    clear_keep_capacity(chunk.valid);
    clear_keep_capacity(chunk.test);
    begin = end;
  }
  nlohmann::json manifest = writer.finish();
  out.commit();
  return manifest;
}

std::string format_ingest_report(const nlohmann::json& report) {
  std::string out = str("ingest ", report.value("format", std::string()), " ", report.value("input", std::string()), "\n");
  char line[256];
  std::snprintf(line, sizeof line, "  %-14s %12s %10s %10s  %s\n", "step", "events", "users", "items", "note");
  out += line;
  for (auto& s : report.at("steps")) {
    std::string note;
    if (s.contains("detail")) {
      const auto& d = s["detail"];
      if (d.contains("skipped")) note = "skipped: " + d["skipped"].get<std::string>();
      else if (d.contains("removed")) note = str("removed ", d["removed"].get<int64_t>());
      if (d.contains("mode")) note = str("mode ", d["mode"].get<std::string>(), note.empty() ? "" : ", ", note);
      if (d.contains("users_reordered_by_time"))
        note = str("users reordered by time ", d["users_reordered_by_time"].get<int64_t>());
      if (d.contains("malformed")) note = str("malformed ", d["malformed"].get<int64_t>());
      if (d.contains("iterations")) note += str(" in ", d["iterations"].get<int64_t>(), " iteration(s)");
      if (d.contains("users_dropped_short"))
        note = str("users dropped ", d["users_dropped_short"].get<int64_t>(), ", truncated ",
                   d["users_truncated"].get<int64_t>());
    }
    std::snprintf(line, sizeof line, "  %-14s %12lld %10lld %10lld  %s\n", s["step"].get<std::string>().c_str(),
                  (long long)s["events"].get<int64_t>(), (long long)s["users"].get<int64_t>(),
                  (long long)s["items"].get<int64_t>(), note.c_str());
    out += line;
  }
  if (report.contains("steps") && !report["steps"].empty()) {
    const auto& parse = report["steps"][0]["detail"];
    for (auto& ex : parse.value("malformed_examples", std::vector<std::string>{})) out += "  malformed: " + ex + "\n";
  }
  return out;
}

}  // namespace seqmend
