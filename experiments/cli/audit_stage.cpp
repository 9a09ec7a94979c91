#include "experiments/cli/audit_stage.h"

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/base/error.h"
#include "experiments/eval/detection_metrics.h"
#include "experiments/repair/edit_log.h"
#include "experiments/cli/repair_stage.h"
#include "experiments/repair/repair_stats.h"
#include "io/shard_set.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

const char* const kSplits[] = {"train", "valid", "test"};

// The two label-free floors on the event and gap heads' label splits: the encoder's surprisal and
// the rarity of the item in the log (−log(1 + count)).
nlohmann::json floors(const ScoresFile& sf, const SequenceSet& labelled, const std::vector<int64_t>& item_counts) {
  const double inf = std::numeric_limits<double>::infinity();
  nlohmann::json out = nlohmann::json::object();
  if (!sf.surprisal.empty()) {
    DetectorScores s;
    s.event = sf.surprisal;
    s.gap = sf.surprisal;
    nlohmann::json r = detection_report(s, labelled, inf, inf, inf);
    out["surprisal"] = {{"event", r["event"]}, {"gap", r["gap"]}};
  }
  DetectorScores pop;
  pop.event.resize(labelled.item.size());
  for (size_t e = 0; e < labelled.item.size(); ++e) {
    const size_t i = size_t(labelled.item[e]) - 1;
    pop.event[e] = -float(std::log1p(double(i < item_counts.size() ? item_counts[i] : 0)));
  }
  out["popularity"] = {{"event", detection_report(pop, labelled, inf, inf, inf)["event"]}};
  return out;
}

}  // namespace

nlohmann::json run_audit(const AuditPaths& p) {
  ShardSet data = ShardSet::open(p.data_dir);
  std::string truth_dir;
  std::string mode = "none";
  if (!p.truth_dir.empty() && fs::is_regular_file(p.truth_dir + "/manifest.json")) {
    truth_dir = p.truth_dir, mode = "hidden";
  } else if (data.has_split("train") && count_anomaly_labels(load_split(data, "train")) > 0) {
    truth_dir = p.data_dir, mode = "visible";
  }
  nlohmann::json out = {{"truth", mode}, {"truth_dir", truth_dir}};
  if (mode == "none") {
    out["note"] = "no truth: neither a DATA.truth directory nor anomaly labels in the data; nothing graded";
    return out;
  }
  ShardSet truth = ShardSet::open(truth_dir);
  SEQ_CHECK(truth.num_items() == data.num_items(), "audit: truth '", truth_dir, "' has ", truth.num_items(),
            " items, the data '", p.data_dir, "' ", data.num_items());
  const std::string tsv = truth_dir + "/repair_truth.tsv";
  const bool have_tsv = fs::is_regular_file(tsv);
  const RepairTruth repair_truth = have_tsv ? load_repair_truth(tsv) : RepairTruth{};

  EditLog edits;
  const std::string edits_csv = p.repair_dir.empty() ? "" : p.repair_dir + "/edits.csv";
  const bool repaired = !edits_csv.empty() && fs::is_regular_file(edits_csv);
  if (repaired) edits = read_edit_log(edits_csv);

  out["splits"] = nlohmann::json::object();
  out["repair"] = nlohmann::json::object();
  for (const char* split : kSplits) {
    if (!truth.has_split(split) || !data.has_split(split)) continue;
    const SequenceSet labelled = load_split(truth, split);
    const SequenceSet seen = load_split(data, split);
    SEQ_CHECK(labelled.offsets == seen.offsets && labelled.item == seen.item, "audit: split '", split, "' of truth '",
              truth_dir, "' does not hold the events of '", p.data_dir, "' (not the same corruption)");
    const std::string scores = p.detect_dir + "/" + split + "/scores.h5";
    if (fs::is_regular_file(scores)) {
      ScoresFile sf = read_scores_h5(scores);
      SEQ_CHECK(int64_t(sf.scores.event.size()) == labelled.num_events(), "audit: ", scores, " scores ",
                sf.scores.event.size(), " events, split '", split, "' has ", labelled.num_events());
      const Thresholds& th = sf.thresholds;
      out["splits"][split] = {{"detection", detection_report(sf.scores, labelled, th.event, th.gap, th.sequence)},
                              {"floors", floors(sf, labelled, data.item_counts())}};
    }
    // A split the repair left untouched is graded too: no edits, nothing found, no harm done.
    if (repaired) {
      RepairResult r;
      if (auto it = edits.find(split); it != edits.end()) r.edits = it->second;
      // Only the edits are graded; the counts of what came out follow from them.
      int64_t removed = 0, added = 0, quarantined = 0, quarantined_events = 0;
      for (const Edit& e : r.edits) {
        removed += e.op == EditOp::kDelete;
        added += e.op == EditOp::kInsert;
        if (e.op == EditOp::kQuarantine) ++quarantined, quarantined_events += labelled.length(e.sequence);
      }
      r.repaired.offsets.assign(size_t(labelled.num_sequences() - quarantined) + 1, 0);
      r.repaired.offsets.back() = labelled.num_events() - removed + added - quarantined_events;
      r.quarantine.offsets = {0, quarantined_events};
      out["repair"][split] = repair_stats(labelled, r, have_tsv ? &repair_truth : nullptr);
    }
  }
  return out;
}

}  // namespace seqmend
