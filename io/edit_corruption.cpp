// mode: edit of the injectors (io/injectors.h): the keep / delete / insert process noisy-log
// benchmarks corrupt real sequences with. Per sequence, left to right, each event not consumed by a
// deletion cascade draws one op: keep; delete (this event and, each with probability
// delete_cascade, the next ones, up to max_delete_run); insert (1 + cascaded noise items, up to
// max_insert_run, placed before the event, which is then kept).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/base/error.h"
#include "io/injectors.h"

namespace seqmend {

namespace {

constexpr uint64_t kStreamEdits = 0x6564697473;  // per user: ops, cascades, noise items

// Inside a session (neighbours this close) an inserted item lands anywhere between its neighbours;
// across a session break it lands shortly before the event it precedes.
constexpr int64_t kSessionGapS = 1800;

// 1 + c + c² + ... over `cap` terms: the mean length of a run that continues with probability c.
double mean_run(double c, int64_t cap) {
  double sum = 0, term = 1;
  for (int64_t j = 0; j < cap; ++j, term *= c) sum += term;
  return sum;
}

}  // namespace

double EditCorruption::expected_insert_run() const { return mean_run(insert_cascade, max_insert_run); }
double EditCorruption::expected_delete_run() const { return mean_run(delete_cascade, max_delete_run); }

// An op consumes one event, except a deletion, which consumes its whole run.
double EditCorruption::inserted_per_event() const {
  return insert_prob * expected_insert_run() / (1 - delete_prob + delete_prob * expected_delete_run());
}
double EditCorruption::deleted_per_event() const {
  return delete_prob * expected_delete_run() / (1 - delete_prob + delete_prob * expected_delete_run());
}

void Injector::edit_sequences(const SequenceSet& in, uint64_t seed, int64_t begin, int64_t end,
                              InjectionResult& out) const {
  const EditCorruption& ed = cfg_.edit;
  const int64_t protect_last = cfg_.protect_last;
  const bool has_ts = in.has_timestamps(), has_act = in.has_actions(), has_lab = in.has_labels();
  SequenceSet& o = out.data;
  const std::vector<int32_t> no_clusters;

  const EventSink emit{out, has_ts, has_act};

  for (int64_t s = begin; s < end; ++s) {
    Rng rng(hash_combine(seed, kStreamEdits), uint64_t(in.user[size_t(s)]));
    const int64_t b = in.offsets[size_t(s)], e = in.offsets[size_t(s) + 1];
    std::vector<int32_t> avoid_items(in.item.begin() + b, in.item.begin() + e);
    std::sort(avoid_items.begin(), avoid_items.end());
    avoid_items.erase(std::unique(avoid_items.begin(), avoid_items.end()), avoid_items.end());

    int64_t kept = 0;
    // The last event is never deleted (its gap label needs a successor) and 3 events always stay,
    // what a leave-one-out split needs, unless the sequence is shorter already.
    auto droppable = [&](int64_t i) { return i < e - protect_last && i + 1 < e && kept + (e - 1 - i) >= 3; };
    std::vector<int64_t> pending;  // clean indices of the current deleted run
    bool have_prev = false;
    int64_t t_prev = 0;  // timestamp of the last event written for this sequence
    for (int64_t i = b; i < e; ++i) {
      const double u = rng.uniform_double();
      if (u < ed.delete_prob && droppable(i)) {
        pending.push_back(i);
        for (int64_t run = 1; run < ed.max_delete_run && droppable(i + 1) && rng.uniform_double() < ed.delete_cascade;
             ++run)
          pending.push_back(++i);
        continue;
      }
      const int64_t ts = has_ts ? in.timestamp[size_t(i)] : 0;
      // Nothing goes before the protected tail's first event, as in rates mode (after the event before it).
      if (u >= ed.delete_prob && u < ed.delete_prob + ed.insert_prob && i < e - protect_last) {
        int64_t k = 1;
        while (k < ed.max_insert_run && rng.uniform_double() < ed.insert_cascade) ++k;
        int64_t t_last = have_prev ? std::min(t_prev, ts) : ts;
        for (int64_t r = 0; r < k; ++r) {
          const int32_t noise = draw_noise_item(rng, avoid_items, no_clusters);
          if (has_ts) {
            if (ts - t_last <= kSessionGapS)
              t_last += int64_t(rng.below(uint64_t(ts - t_last + 1)));
            else
              t_last = std::max(t_last, ts - 1 - int64_t(std::llround(draw_lognormal(rng, 20.0, 1.0))));
          }
          emit(noise, t_last, common_action_, kLabelNoiseClick, -1);
        }
      }
      int8_t lab = has_lab ? in.label[size_t(i)] : int8_t(kLabelClean);
      if (!pending.empty()) {
        lab = kLabelGapAfter;
        const int64_t at = int64_t(o.item.size());
        for (int64_t d : pending) {
          out.dropped_item.push_back(in.item[size_t(d)]);
          out.dropped_before.push_back(at);
          out.dropped_source_event.push_back(d);
        }
        pending.clear();
      }
      emit(in.item[size_t(i)], ts, has_act ? in.action[size_t(i)] : int8_t(0), lab, i);
      have_prev = true;
      t_prev = ts;
      ++kept;
    }
    SEQ_CHECK(pending.empty(), "inject: edit mode left a deleted run without a following event (user ",
              in.user[size_t(s)], ")");
    o.offsets.push_back(int64_t(o.item.size()));
    o.user.push_back(in.user[size_t(s)]);
    o.seq_label.push_back(has_lab && !in.seq_label.empty() ? in.seq_label[size_t(s)] : int8_t(kLabelClean));
    out.source_sequence.push_back(s);
    out.dropped_offsets.push_back(int64_t(out.dropped_item.size()));
  }
}

}  // namespace seqmend
