#include "experiments/repair/repair_shard_set.h"

#include <algorithm>
#include <filesystem>

#include "core/base/error.h"
#include "io/atomic_file.h"
#include "io/published_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEditsFile = "edits.csv";
constexpr const char* kRepairFile = "repair.json";
constexpr const char* kQuarantineDir = "quarantine";

ManifestInfo info_of(const ShardSet& set) {
  ManifestInfo info;
  info.source = set.source();
  info.item_ids = set.item_ids();
  if (info.item_ids.empty()) info.num_items = set.num_items();
  info.user_ids = set.user_ids();
  info.extra = set.extra();
  return info;
}

// Writes one shard set with every split of `sets` (empty ones declared, so the splits match).
void write_set(const std::string& dir, const ManifestInfo& info, const std::map<std::string, SequenceSet>& sets,
               const ShardOptions& opts) {
  ShardSetWriter w(dir, info, opts);
  for (const auto& [split, s] : sets) {
    w.plan_split(split, s.num_events());
    if (s.num_sequences() > 0) w.add(split, s);
  }
  w.finish();
}

}  // namespace

nlohmann::json write_repaired_shard_set(const std::string& out_dir, const ShardSet& input,
                                        const std::map<std::string, RepairResult>& results,
                                        const nlohmann::json& repair_record, const RepairWriteOptions& options) {
  for (const std::string& split : input.split_names())
    SEQ_CHECK(results.count(split), "repair: no result for split '", split, "' of '", input.dir(), "'");
  std::error_code ec;
  SEQ_CHECK(!fs::exists(out_dir, ec) || fs::weakly_canonical(out_dir) != fs::weakly_canonical(input.dir()),
            "repair: output '", out_dir, "' is the input shard set");
  PublishOptions po;
  po.overwrite = options.shards.overwrite;
  po.fsync = options.shards.fsync;
  po.what = "repair";
  po.hint = "choose a new directory or allow overwriting";
  PublishedDir out(out_dir, po);  // an earlier repair there stays whole until this one is complete
  const std::string dir = out.path();

  std::map<std::string, SequenceSet> repaired, quarantined;
  EditLog log;
  for (const auto& [split, r] : results) {
    repaired[split] = r.repaired;
    quarantined[split] = r.quarantine;
    log[split] = r.edits;
  }
  ShardOptions opts = options.shards;
  opts.overwrite = true;  // the fresh temporary tree holds only what is written here

  ManifestInfo qinfo = info_of(input);
  qinfo.source = "sequences quarantined by seqmend repair from: " + input.source();
  qinfo.extra = {{"quarantine_of", ".."}};
  write_set(dir + "/" + kQuarantineDir, qinfo, quarantined, opts);
  write_file_atomic(dir + "/" + kEditsFile, edit_log_csv(log));
  write_file_atomic(dir + "/" + kRepairFile, repair_record.dump(1) + "\n");

  ManifestInfo info = info_of(input);
  nlohmann::json record = repair_record;
  record.erase("stats");
  record["input_source"] = input.source();
  record["input_columns"] = input.columns();  // the repaired shards may have lost event columns with their events
  info.extra["repair"] = record;
  write_set(dir, info, repaired, opts);
  out.commit();
  return repair_record;
}

nlohmann::json repair_shard_set(const std::string& input_dir, const std::string& out_dir,
                                const std::map<std::string, DetectorScores>& scores, const RepairConfig& cfg,
                                const Predictor& predictor, const RepairProvenance& provenance,
                                const RepairTruth* truth, const RepairWriteOptions& options) {
  ShardSet input = ShardSet::open(input_dir);
  for (const auto& [split, s] : scores)
    SEQ_CHECK(input.has_split(split), "repair: scores for split '", split, "' which '", input_dir, "' lacks");
  RepairConfig cfg_copy = cfg;
  nlohmann::json record = {{"format", "seqmend-repair"},
                           {"format_version", 1},
                           {"input", input_dir},
                           {"detector_checksum", provenance.detector_checksum},
                           {"thresholds", provenance.thresholds.to_json()},
                           {"config_yaml", provenance.config_yaml.empty() ? config_to_yaml(cfg_copy)
                                                                          : provenance.config_yaml},
                           {"edit_log", kEditsFile},
                           {"quarantine", kQuarantineDir},
                           {"extra", provenance.extra}};
  std::map<std::string, RepairResult> results;
  nlohmann::json stats = nlohmann::json::object();
  for (const std::string& split : input.split_names()) {
    SequenceSet in = load_split(input, split);
    auto it = scores.find(split);
    const DetectorScores none;
    results[split] = repair_sequences(in, it == scores.end() ? none : it->second, provenance.thresholds, cfg,
                                      predictor, input.num_items());
    stats[split] = repair_stats(in, results[split], truth);
  }
  record["stats"] = stats;
  if (!options.write) return record;
  return write_repaired_shard_set(out_dir, input, results, record, options);
}

void unrepair_shard_set(const std::string& repaired_dir, const std::string& out_dir, const ShardOptions& options) {
  PublishOptions po;
  po.overwrite = options.overwrite;
  po.fsync = options.fsync;
  po.what = "unrepair";
  po.hint = "choose a new directory or pass --overwrite";
  PublishedDir out(out_dir, po);
  ShardSet rep = ShardSet::open(repaired_dir);
  SEQ_CHECK(rep.extra().contains("repair"), "unrepair: '", repaired_dir,
            "' is not a repaired shard set (its manifest has no extra.repair)");
  ShardSet quar = ShardSet::open(repaired_dir + "/" + kQuarantineDir);
  const std::string edits_path = repaired_dir + "/" + kEditsFile;
  EditLog log = read_edit_log(edits_path);
  for (const auto& [split, e] : log)
    SEQ_CHECK(rep.has_split(split), "unrepair: ", edits_path, " has edits for split '", split, "' which '",
              repaired_dir, "' lacks");
  std::vector<std::string> names = rep.columns();
  const nlohmann::json& rec = rep.extra().at("repair");
  if (rec.contains("input_columns")) names = rec.at("input_columns").get<std::vector<std::string>>();
  auto has = [&](const char* c) { return std::find(names.begin(), names.end(), c) != names.end(); };
  const EventColumns cols{has("timestamp"), has("action"), has("label")};
  std::map<std::string, SequenceSet> original;
  for (const std::string& split : rep.split_names()) {
    SequenceSet q = quar.has_split(split) ? load_split(quar, split) : SequenceSet{};
    try {
      original[split] = undo_repair(load_split(rep, split), q, log[split], &cols);
    } catch (const Error& e) {
      SEQ_FAIL("unrepair '", repaired_dir, "' split ", split, ": ", e.what());
    }
  }
  ManifestInfo info = info_of(rep);
  const nlohmann::json& record = rep.extra().at("repair");
  if (record.contains("input_source")) info.source = record.at("input_source").get<std::string>();
  info.extra.erase("repair");
  ShardOptions fresh = options;
  fresh.overwrite = false;
  write_set(out.path(), info, original, fresh);
  out.commit();
}

}  // namespace seqmend
