// Repair and undo at the level of shard sets on disk (layout: io/FORMAT.md, "Repaired shard sets"):
//
//   OUT/manifest.json, OUT/<split>-*.h5   the repaired sequences, same splits as the input;
//                                         manifest extra.repair = provenance (see below)
//   OUT/quarantine/                       a shard set of the quarantined sequences, same splits
//   OUT/edits.csv                         the edit log of every split (experiments/repair/edit_log.h)
//   OUT/repair.json                       provenance + statistics (repair_stats.h)
//
// The repaired manifest is written last, so a directory whose manifest exists is whole. The input
// set is only read.
//
//   std::map<std::string, DetectorScores> scores = ...;          // per split, from the detector
//   RepairProvenance prov{.detector_checksum = ckpt_crc, .thresholds = t.thresholds()};
//   nlohmann::json stats = repair_shard_set(in_dir, out_dir, scores, cfg, predictor, prov, &truth);
//   unrepair_shard_set(out_dir, back_dir);                      // back_dir == in_dir, sequence by sequence
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "experiments/repair/repair.h"
#include "experiments/repair/repair_stats.h"
#include "io/shard_set.h"

namespace seqmend {

struct RepairProvenance {
  std::string detector_checksum;  // of the detector checkpoint that produced the scores
  Thresholds thresholds;          // the thresholds used (also what repair_shard_set applies)
  std::string config_yaml;        // the resolved config of the run; empty → the RepairConfig's YAML
  nlohmann::json extra = nlohmann::json::object();  // anything else the caller wants kept
};

struct RepairWriteOptions {
  ShardOptions shards;     // shard limits, fsync; `overwrite` also allows replacing an earlier repair
  bool write = true;       // false: compute and return the record only (the ranks other than 0)
};

// Repairs every split of the shard set at `input_dir` with its scores (a split absent from `scores`
// is copied unchanged) and writes OUT as above. Returns repair.json's content: provenance,
// per-split and total statistics (with `truth` when given, see repair_stats.h).
nlohmann::json repair_shard_set(const std::string& input_dir, const std::string& out_dir,
                                const std::map<std::string, DetectorScores>& scores, const RepairConfig& cfg,
                                const Predictor& predictor, const RepairProvenance& provenance,
                                const RepairTruth* truth = nullptr, const RepairWriteOptions& options = {});

// Writes already computed per-split results (every split of `input` must be there).
nlohmann::json write_repaired_shard_set(const std::string& out_dir, const ShardSet& input,
                                        const std::map<std::string, RepairResult>& results,
                                        const nlohmann::json& repair_record, const RepairWriteOptions& options = {});

// Re-creates the input shard set of a repair from OUT (repaired shards + quarantine + edits.csv)
// as a shard set at `out_dir`: same splits, same sequences in the same order, same source, user and
// item tables and extra (less extra.repair).
void unrepair_shard_set(const std::string& repaired_dir, const std::string& out_dir, const ShardOptions& options = {});

}  // namespace seqmend
