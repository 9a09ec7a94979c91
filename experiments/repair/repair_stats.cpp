#include "experiments/repair/repair_stats.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/base/error.h"
#include "experiments/eval/detection_metrics.h"

namespace seqmend {
namespace {

bool is_event_anomaly(int code) {
  return code == kLabelNoiseClick || code == kLabelSubstitution || code == kLabelBurstRepeat;
}
bool is_bot(int code) { return code == kLabelBotUniform || code == kLabelBotPopular || code == kLabelBotPush; }

nlohmann::json ratio(int64_t num, int64_t den) {
  return den > 0 ? nlohmann::json(double(num) / double(den)) : nlohmann::json(nullptr);
}

}  // namespace

RepairTruth parse_repair_truth(const std::string& text, const std::string& what) {
  RepairTruth t;
  std::istringstream in(text);
  std::string line;
  SEQ_CHECK(std::getline(in, line) && line == "kind\tuser\tposition\titem", what,
            ":1: expected the header 'kind<TAB>user<TAB>position<TAB>item', got '", line, "'");
  int64_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    std::istringstream ls(line);
    std::string kind;
    long long user = -1, pos = -1, item = -1;
    std::string rest;
    const bool ok = bool(ls >> kind >> user >> pos >> item) && !(ls >> rest);
    SEQ_CHECK(ok && user >= 0 && pos >= 0 && item > 0 && (kind == "dropped" || kind == "substituted"), what, ":",
              lineno, ": expected 'dropped|substituted<TAB>user<TAB>position<TAB>item', got '", line, "'");
    if (kind == "dropped") t.dropped[{user, pos}].push_back(int32_t(item));
    else t.substituted[{user, pos}] = int32_t(item);
  }
  return t;
}

RepairTruth load_repair_truth(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  SEQ_CHECK(bool(f), "repair truth: cannot open '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_repair_truth(ss.str(), path);
}

nlohmann::json repair_stats(const SequenceSet& input, const RepairResult& r, const RepairTruth* truth) {
  int64_t count[4] = {};
  for (const Edit& e : r.edits) count[int(e.op)]++;
  nlohmann::json out;
  out["counts"] = {{"delete", count[0]},
                   {"replace", count[1]},
                   {"insert", count[2]},
                   {"quarantine", count[3]},
                   {"sequences_in", input.num_sequences()},
                   {"events_in", input.num_events()},
                   {"repaired_sequences", r.repaired.num_sequences()},
                   {"events_out", r.repaired.num_events()},
                   {"quarantined_events", r.quarantine.num_events()}};

  if (input.has_labels()) {
    int64_t anomalies = 0, gaps = 0;  // in non-bot sequences
    for (int64_t s = 0; s < input.num_sequences(); ++s)
      for (int64_t i = input.offsets[size_t(s)]; i < input.offsets[size_t(s) + 1]; ++i) {
        anomalies += is_event_anomaly(input.label[size_t(i)]);
        gaps += input.label[size_t(i)] == kLabelGapAfter;
      }
    int64_t del_hit = 0, rep_hit = 0, ins_hit = 0, quar_hit = 0;
    for (const Edit& e : r.edits) {
      if (e.op == EditOp::kQuarantine) {
        quar_hit += !input.seq_label.empty() && is_bot(input.seq_label[size_t(e.sequence)]);
        continue;
      }
      const int code = input.label[size_t(input.offsets[size_t(e.sequence)] + e.position)];
      if (e.op == EditOp::kDelete) del_hit += is_event_anomaly(code);
      if (e.op == EditOp::kReplace) rep_hit += is_event_anomaly(code);
      if (e.op == EditOp::kInsert) ins_hit += code == kLabelGapAfter;
    }
    int64_t bots = 0;
    for (int8_t c : input.seq_label) bots += is_bot(c);
    out["labels"] = {{"anomalous_events", anomalies},
                     {"gaps", gaps},
                     {"bots", bots},
                     {"deletes_on_anomalies", del_hit},
                     {"delete_precision", ratio(del_hit, count[0])},
                     {"replaces_on_anomalies", rep_hit},
                     {"replace_precision", ratio(rep_hit, count[1])},
                     {"anomaly_recall", ratio(del_hit + rep_hit, anomalies)},
                     {"inserts_at_gaps", ins_hit},
                     {"insert_precision", ratio(ins_hit, count[2])},
                     {"gap_recall", ratio(ins_hit, gaps)},
                     {"quarantined_bots", quar_hit},
                     {"quarantine_precision", ratio(quar_hit, count[3])},
                     {"quarantine_recall", ratio(quar_hit, bots)}};
  }

  if (truth) {
    int64_t at_gaps = 0, backfill_ok = 0, at_subst = 0, restored = 0;
    for (const Edit& e : r.edits) {
      const std::pair<int64_t, int64_t> key{e.user, e.position};
      if (e.op == EditOp::kInsert) {
        auto it = truth->dropped.find(key);
        if (it == truth->dropped.end()) continue;
        ++at_gaps;
        backfill_ok += std::find(it->second.begin(), it->second.end(), e.new_item) != it->second.end();
      } else if (e.op == EditOp::kReplace) {
        auto it = truth->substituted.find(key);
        if (it == truth->substituted.end()) continue;
        ++at_subst;
        restored += it->second == e.new_item;
      }
    }
    out["truth"] = {{"inserts_at_true_gaps", at_gaps},
                    {"backfill_correct", backfill_ok},
                    {"backfill_accuracy", ratio(backfill_ok, at_gaps)},
                    {"replaces_at_substitutions", at_subst},
                    {"substitutions_restored", restored},
                    {"replace_accuracy", ratio(restored, at_subst)}};
  }
  return out;
}

}  // namespace seqmend
