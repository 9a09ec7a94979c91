#include "experiments/repair/repair.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace seqmend {
namespace {

// Appends event i of `in` to `out` (every column `in` has), with `item` in place of its own.
void copy_event(const SequenceSet& in, int64_t i, int32_t item, SequenceSet& out) {
  out.item.push_back(item);
  if (in.has_timestamps()) out.timestamp.push_back(in.timestamp[size_t(i)]);
  if (in.has_actions()) out.action.push_back(in.action[size_t(i)]);
  if (in.has_labels()) out.label.push_back(in.label[size_t(i)]);
}

// Closes a sequence in `out` for user `user`, copying sequence s's seq_label when `in` has one.
void close_sequence(const SequenceSet& in, int64_t s, int64_t user, SequenceSet& out) {
  out.user.push_back(user);
  if (!in.seq_label.empty()) out.seq_label.push_back(in.seq_label[size_t(s)]);
  out.offsets.push_back(int64_t(out.item.size()));
}

bool flagged(const std::vector<float>& scores, int64_t i, double threshold) {
  return !scores.empty() && scores[size_t(i)] >= float(threshold);
}

void check_scores(const char* head, const std::vector<float>& s, int64_t expected) {
  if (s.empty()) return;
  SEQ_CHECK(int64_t(s.size()) == expected, "repair: ", head, " head has ", s.size(), " scores, the data ", expected);
  for (size_t i = 0; i < s.size(); ++i)
    SEQ_CHECK(std::isfinite(s[i]), "repair: ", head, " score ", i, " is ", s[i], " (scores must be finite)");
}

// The most common action of sequence s (ties: the lower code); kActionNone without actions.
int8_t common_action(const SequenceSet& in, int64_t s) {
  if (!in.has_actions()) return kActionNone;
  int64_t count[256] = {};
  for (int64_t i = in.offsets[size_t(s)]; i < in.offsets[size_t(s) + 1]; ++i) count[in.action[size_t(i)] + 128]++;
  int best = kActionNone + 128;
  for (int a = 0; a < 256; ++a)
    if (count[a] > count[best]) best = a;
  return int8_t(best - 128);
}

}  // namespace

RepairResult repair_sequences(const SequenceSet& input, const DetectorScores& scores, const Thresholds& th,
                              const RepairConfig& cfg, const Predictor& predictor, int64_t num_items) {
  const int64_t n = input.num_sequences(), num_events = input.num_events();
  check_scores("event", scores.event, num_events);
  check_scores("gap", scores.gap, num_events);
  check_scores("sequence", scores.sequence, n);
  SEQ_CHECK(!std::isnan(th.event) && !std::isnan(th.gap) && !std::isnan(th.sequence), "repair: a threshold is NaN");

  auto quarantined = [&](int64_t s) { return cfg.quarantine && flagged(scores.sequence, s, th.sequence); };
  auto editable = [&](int64_t s, int64_t p) { return p < input.length(s) - cfg.protect_last; };
  auto gap_flag = [&](int64_t s, int64_t p) {
    return cfg.backfill && editable(s, p) && flagged(scores.gap, input.offsets[size_t(s)] + p, th.gap);
  };
  auto event_flag = [&](int64_t s, int64_t p) {
    return editable(s, p) && flagged(scores.event, input.offsets[size_t(s)] + p, th.event);
  };

  // Pass 1: every question for the model, asked at once so the predictor can batch them.
  std::vector<PredictQuery> queries;
  for (int64_t s = 0; s < n; ++s) {
    if (quarantined(s)) continue;
    for (int64_t p = 0; p < input.length(s); ++p) {
      if (gap_flag(s, p)) queries.push_back({s, p, true});
      if (cfg.replace && event_flag(s, p)) queries.push_back({s, p, false});
    }
  }
  std::vector<Prediction> answers;
  if (!queries.empty()) {
    SEQ_CHECK(bool(predictor), "repair: ", queries.size(),
              " events need a prediction (replace/backfill on) but no predictor was given");
    answers = predictor(input, queries);
    SEQ_CHECK(answers.size() == queries.size(), "repair: the predictor answered ", answers.size(), " of ",
              queries.size(), " queries");
    for (size_t q = 0; q < answers.size(); ++q) {
      const Prediction& a = answers[q];
      SEQ_CHECK(a.item >= 0 && (num_items == 0 || a.item <= num_items) && std::isfinite(a.probability),
                "repair: prediction ", q, " (sequence ", queries[q].sequence, ", position ", queries[q].position,
                ") is item ", a.item, " with probability ", a.probability, "; items are 1..", num_items);
    }
  }

  // Pass 2: build the outputs, consuming the answers in the order they were asked.
  RepairResult r;
  size_t next_answer = 0;
  for (int64_t s = 0; s < n; ++s) {
    const int64_t user = input.user[size_t(s)], b = input.offsets[size_t(s)], len = input.length(s);
    if (quarantined(s)) {
      r.quarantine.append_from(input, s);
      Edit e;
      e.sequence = s;
      e.user = user;
      e.position = -1;
      e.op = EditOp::kQuarantine;
      e.score = scores.sequence[size_t(s)];
      r.edits.push_back(e);
      continue;
    }
    const int8_t fill_action = common_action(input, s);
    SequenceSet& out = r.repaired;
    for (int64_t p = 0; p < len; ++p) {
      const int64_t i = b + p;
      if (gap_flag(s, p)) {
        const Prediction& a = answers[next_answer++];
        if (a.item > 0 && double(a.probability) >= cfg.backfill_min_prob) {
          Edit e;
          e.sequence = s;
          e.user = user;
          e.position = p;
          e.op = EditOp::kInsert;
          e.new_item = a.item;
          if (input.has_timestamps()) {
            const int64_t next = input.timestamp[size_t(i)];
            const int64_t prev = p > 0 ? input.timestamp[size_t(i - 1)] : next;
            e.new_timestamp = prev + (next - prev) / 2;
            out.timestamp.push_back(e.new_timestamp);
          }
          if (input.has_actions()) {
            e.new_action = fill_action;
            out.action.push_back(fill_action);
          }
          if (input.has_labels()) out.label.push_back(kLabelClean);
          out.item.push_back(a.item);
          e.score = scores.gap[size_t(i)];
          e.probability = a.probability;
          r.edits.push_back(e);
        }
      }
      if (!event_flag(s, p)) {
        copy_event(input, i, input.item[size_t(i)], out);
        continue;
      }
      Edit e;
      e.sequence = s;
      e.user = user;
      e.position = p;
      e.old_item = input.item[size_t(i)];
      e.score = scores.event[size_t(i)];
      if (cfg.replace) {
        const Prediction& a = answers[next_answer++];
        if (a.item == e.old_item) {  // the model agrees with the event: keep it
          copy_event(input, i, e.old_item, out);
          continue;
        }
        if (a.item > 0 && double(a.probability) >= cfg.replace_min_prob) {
          e.op = EditOp::kReplace;
          e.new_item = a.item;
          e.probability = a.probability;
          copy_event(input, i, a.item, out);
          r.edits.push_back(e);
          continue;
        }
      }
      if (!cfg.delete_events) {
        copy_event(input, i, e.old_item, out);
        continue;
      }
      e.op = EditOp::kDelete;
      if (input.has_timestamps()) e.old_timestamp = input.timestamp[size_t(i)];
      if (input.has_actions()) e.old_action = input.action[size_t(i)];
      if (input.has_labels()) e.old_label = input.label[size_t(i)];
      r.edits.push_back(e);
    }
    close_sequence(input, s, user, out);
  }
  return r;
}

SequenceSet undo_repair(const SequenceSet& repaired, const SequenceSet& quarantine, const std::vector<Edit>& edits,
                        const EventColumns* columns) {
  const int64_t n = repaired.num_sequences() + quarantine.num_sequences();
  auto columns_of = [](const SequenceSet& s) { return EventColumns{s.has_timestamps(), s.has_actions(), s.has_labels()}; };
  SEQ_CHECK(repaired.num_events() == 0 || quarantine.num_events() == 0 ||
                columns_of(repaired) == columns_of(quarantine),
            "undo_repair: the repaired and quarantine sets have different columns");
  // A set without events carries no event columns: take them from the caller, else from a set with events.
  const EventColumns cols = columns ? *columns
                            : repaired.num_events() > 0 ? columns_of(repaired)
                            : quarantine.num_events() > 0 ? columns_of(quarantine)
                            : EventColumns{false, false, !repaired.seq_label.empty() || !quarantine.seq_label.empty()};
  SequenceSet out;
  size_t next_edit = 0;
  int64_t next_repaired = 0, next_quarantined = 0;
  for (int64_t s = 0; s < n; ++s) {
    const size_t first = next_edit;
    while (next_edit < edits.size() && edits[next_edit].sequence == s) ++next_edit;
    SEQ_CHECK(next_edit == edits.size() || edits[next_edit].sequence > s, "undo_repair: edit ", next_edit,
              " is for sequence ", edits[next_edit].sequence, " after sequence ", s, " (edits out of order)");
    if (first < next_edit && edits[first].op == EditOp::kQuarantine) {
      SEQ_CHECK(next_edit - first == 1, "undo_repair: quarantined sequence ", s, " has other edits too");
      SEQ_CHECK(next_quarantined < quarantine.num_sequences(), "undo_repair: sequence ", s,
                " is quarantined but the quarantine set has only ", quarantine.num_sequences(), " sequences");
      SEQ_CHECK(quarantine.user[size_t(next_quarantined)] == edits[first].user, "undo_repair: quarantined sequence ",
                s, " belongs to user ", edits[first].user, " but the quarantine set holds user ",
                quarantine.user[size_t(next_quarantined)]);
      out.append_from(quarantine, next_quarantined++);
      continue;
    }
    SEQ_CHECK(next_repaired < repaired.num_sequences(), "undo_repair: sequence ", s,
              " is missing from the repaired set (", repaired.num_sequences(), " sequences)");
    const int64_t r = next_repaired++;
    const int64_t user = repaired.user[size_t(r)];
    int64_t inserts = 0, deletes = 0;
    for (size_t k = first; k < next_edit; ++k) {
      SEQ_CHECK(edits[k].user == user, "undo_repair: edit of sequence ", s, " names user ", edits[k].user,
                " but the repaired sequence is user ", user);
      inserts += edits[k].op == EditOp::kInsert;
      deletes += edits[k].op == EditOp::kDelete;
    }
    const int64_t len = repaired.length(r) - inserts + deletes;
    int64_t j = repaired.offsets[size_t(r)];
    size_t k = first;
    for (int64_t p = 0; p < len; ++p) {
      if (k < next_edit && edits[k].position == p && edits[k].op == EditOp::kInsert) {
        SEQ_CHECK(j < repaired.offsets[size_t(r) + 1] && repaired.item[size_t(j)] == edits[k].new_item,
                  "undo_repair: sequence ", s, " position ", p, ": the inserted item ", edits[k].new_item,
                  " is not in the repaired sequence");
        ++j;
        ++k;
      }
      if (k < next_edit && edits[k].position == p && edits[k].op == EditOp::kDelete) {
        const Edit& e = edits[k++];
        out.item.push_back(e.old_item);
        if (cols.timestamp) out.timestamp.push_back(e.old_timestamp);
        if (cols.action) out.action.push_back(e.old_action);
        if (cols.label) out.label.push_back(e.old_label);
        continue;
      }
      SEQ_CHECK(j < repaired.offsets[size_t(r) + 1], "undo_repair: sequence ", s, " ends at position ", p,
                " before its edits say it should");
      int32_t item = repaired.item[size_t(j)];
      if (k < next_edit && edits[k].position == p && edits[k].op == EditOp::kReplace) {
        SEQ_CHECK(item == edits[k].new_item, "undo_repair: sequence ", s, " position ", p, " holds item ", item,
                  " but the edit log replaced it by ", edits[k].new_item);
        item = edits[k++].old_item;
      }
      copy_event(repaired, j++, item, out);
    }
    SEQ_CHECK(k == next_edit && j == repaired.offsets[size_t(r) + 1], "undo_repair: sequence ", s,
              ": edits and repaired events do not line up (", next_edit - k, " edits and ",
              repaired.offsets[size_t(r) + 1] - j, " events left over)");
    close_sequence(repaired, r, user, out);
  }
  SEQ_CHECK(next_edit == edits.size(), "undo_repair: ", edits.size() - next_edit,
            " edits name sequences beyond the ", n, " there are");
  SEQ_CHECK(next_repaired == repaired.num_sequences() && next_quarantined == quarantine.num_sequences(),
            "undo_repair: ", repaired.num_sequences() - next_repaired, " repaired and ",
            quarantine.num_sequences() - next_quarantined, " quarantined sequences are not accounted for");
  return out;
}

}  // namespace seqmend
