#include "io/sequence_set.h"

#include "core/base/error.h"

namespace seqmend {

const char* anomaly_label_name(int code) {
  switch (code) {
    case kLabelClean: return "clean";
    case kLabelNoiseClick: return "noise_click";
    case kLabelSubstitution: return "substitution";
    case kLabelBurstRepeat: return "burst_repeat";
    case kLabelGapAfter: return "dropped_before";
    case kLabelBotUniform: return "bot_uniform";
    case kLabelBotPopular: return "bot_popular";
    case kLabelBotPush: return "bot_push";
  }
  return "unknown";
}

const char* action_name(int code) {
  switch (code) {
    case kActionNone: return "none";
    case kActionView: return "view";
    case kActionClick: return "click";
    case kActionCart: return "cart";
    case kActionBuy: return "buy";
    case kActionFavorite: return "favorite";
  }
  return nullptr;
}

void SequenceSet::append(int64_t user_id, const int32_t* items, int64_t n, const int64_t* ts,
                         const int8_t* act, const int8_t* lab, int8_t seq_lab) {
  bool first = num_sequences() == 0;
  // A zero-length sequence adds nothing to the event columns (and vector::data() of an empty vector
  // may be null), so only sequences with events, once the set has events, are held to them.
  auto want = [&](bool given, bool has, const char* col) {
    SEQ_CHECK(first || n == 0 || num_events() == 0 || given == has, "SequenceSet::append: column '", col,
              "' given for some sequences only");
  };
  want(ts != nullptr, has_timestamps(), "timestamp");
  want(act != nullptr, has_actions(), "action");
  // Labelled sets are known by seq_label, which every labelled sequence extends.
  const bool labelled = lab != nullptr || (n == 0 && !seq_label.empty());
  SEQ_CHECK(first || labelled == !seq_label.empty(), "SequenceSet::append: column 'label' given for some sequences only");
  item.insert(item.end(), items, items + n);
  if (ts) timestamp.insert(timestamp.end(), ts, ts + n);
  if (act) action.insert(action.end(), act, act + n);
  if (labelled) {
    if (n > 0) label.insert(label.end(), lab, lab + n);
    seq_label.push_back(seq_lab);
  }
  user.push_back(user_id);
  offsets.push_back(offsets.back() + n);
}

void SequenceSet::append_from(const SequenceSet& from, int64_t s, int64_t n) {
  const size_t e = size_t(from.offsets[size_t(s)]);
  if (n < 0) n = from.length(s);
  append(from.user[size_t(s)], from.item.data() + e, n, from.has_timestamps() ? from.timestamp.data() + e : nullptr,
         from.has_actions() ? from.action.data() + e : nullptr, from.has_labels() ? from.label.data() + e : nullptr,
         from.seq_label.empty() ? int8_t(0) : from.seq_label[size_t(s)]);
}

void SequenceSet::validate(int64_t num_items) const {
  SEQ_CHECK(!offsets.empty() && offsets[0] == 0, "sequence set: offsets must start at 0");
  int64_t n = num_sequences(), e = num_events();
  for (int64_t s = 0; s < n; ++s)
    SEQ_CHECK(offsets[size_t(s)] <= offsets[size_t(s) + 1], "sequence set: offsets decrease at sequence ", s);
  SEQ_CHECK(int64_t(item.size()) == e, "sequence set: ", item.size(), " items for ", e, " events");
  SEQ_CHECK(timestamp.empty() || int64_t(timestamp.size()) == e, "sequence set: timestamp column has ",
            timestamp.size(), " entries for ", e, " events");
  SEQ_CHECK(action.empty() || int64_t(action.size()) == e, "sequence set: action column has ", action.size(),
            " entries for ", e, " events");
  SEQ_CHECK(label.empty() || int64_t(label.size()) == e, "sequence set: label column has ", label.size(),
            " entries for ", e, " events");
  SEQ_CHECK(seq_label.empty() || int64_t(seq_label.size()) == n, "sequence set: seq_label column has ",
            seq_label.size(), " entries for ", n, " sequences");
  SEQ_CHECK(int64_t(user.size()) == n, "sequence set: ", user.size(), " users for ", n, " sequences");
  for (int64_t i = 0; i < e; ++i)
    SEQ_CHECK(item[size_t(i)] >= 1 && item[size_t(i)] <= num_items, "sequence set: event ", i, " has item id ",
              item[size_t(i)], " outside [1, ", num_items, "]");
}

int64_t count_anomaly_labels(const SequenceSet& s) {
  int64_t n = 0;
  for (int8_t c : s.label) n += c != kLabelClean;
  for (int8_t c : s.seq_label) n += c != kLabelClean;
  return n;
}

SequenceSet without_labels(SequenceSet s) {
  s.label.clear();
  s.seq_label.clear();
  return s;
}

}  // namespace seqmend
