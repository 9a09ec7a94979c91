#include "io/injectors.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <thread>
#include <utility>

#include "core/base/error.h"

namespace seqmend {

namespace {

constexpr uint64_t kStreamEvents = 0x6576656e74;  // per user: drops, slips, bursts, noise

// Inserted events between two events of a session spread over the gap between them; beyond this
// gap the next event starts a new session and the insertion is placed shortly after the previous one.
constexpr int64_t kSessionGapS = 1800;

std::vector<int32_t> sorted_unique(std::vector<int32_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool contains(const std::vector<int32_t>& sorted, int32_t x) {
  return std::binary_search(sorted.begin(), sorted.end(), x);
}

}  // namespace

Injector::Injector(const SequenceSet& clean, InjectionConfig config, InjectionContext context)
    : clean_(clean), cfg_(std::move(config)), ctx_(std::move(context)) {
  const auto& c = cfg_;
  SEQ_CHECK(c.burst_min >= 1 && c.burst_min <= c.burst_max, "inject: need 1 <= burst_min <= burst_max, got ",
            c.burst_min, " and ", c.burst_max);
  if (c.noise_items == "uniform")
    noise_source_ = NoiseSource::uniform;
  else if (c.noise_items == "mixed")
    noise_source_ = NoiseSource::mixed;
  else
    SEQ_CHECK(c.noise_items == "popularity", "inject: noise_items must be popularity, uniform or mixed, got '",
              c.noise_items, "'");
  SEQ_CHECK(c.bot_mix.size() == 3, "inject: bot_mix needs 3 shares [uniform, popular, push], got ", c.bot_mix.size());
  double mix = 0;
  for (double w : c.bot_mix) {
    SEQ_CHECK(w >= 0 && std::isfinite(w), "inject: bot_mix shares must be >= 0, got ", w);
    mix += w;
  }
  SEQ_CHECK(c.bot_rate == 0 || mix > 0, "inject: bot_rate ", c.bot_rate, " > 0 but bot_mix is all zero");
  for (double r : {c.noise_rate, c.substitution_rate, c.burst_rate, c.drop_rate})
    SEQ_CHECK(r >= 0 && r <= 1, "inject: rates must be in [0, 1], got ", r);
  SEQ_CHECK(c.mode == "rates" || c.mode == "edit", "inject: mode must be rates or edit, got '", c.mode, "'");
  const EditCorruption& ed = c.edit;
  SEQ_CHECK(ed.delete_prob >= 0 && ed.insert_prob >= 0 && ed.delete_prob + ed.insert_prob <= 1,
            "inject: edit.delete_prob + edit.insert_prob must be in [0, 1], got ", ed.delete_prob, " + ",
            ed.insert_prob);
  SEQ_CHECK(ed.delete_cascade >= 0 && ed.delete_cascade <= 1 && ed.insert_cascade >= 0 && ed.insert_cascade <= 1,
            "inject: edit cascades must be in [0, 1], got ", ed.delete_cascade, " and ", ed.insert_cascade);
  SEQ_CHECK(ed.max_delete_run >= 1 && ed.max_insert_run >= 1, "inject: edit runs must be >= 1, got ",
            ed.max_delete_run, " and ", ed.max_insert_run);

  int32_t max_id = 0;
  for (int32_t it : clean.item) max_id = std::max(max_id, it);
  num_items_ = ctx_.num_items > 0 ? ctx_.num_items : int64_t(max_id);
  SEQ_CHECK(num_items_ >= 2, "inject: need at least 2 items, got V=", num_items_);
  clean.validate(num_items_);
  SEQ_CHECK(ctx_.item_cluster.empty() || int64_t(ctx_.item_cluster.size()) == num_items_ + 1,
            "inject: item_cluster has ", ctx_.item_cluster.size(), " entries, want V + 1 = ", num_items_ + 1);

  item_count_.assign(size_t(num_items_) + 1, 0);
  if (ctx_.item_counts.empty()) {
    for (int32_t it : clean.item) ++item_count_[size_t(it)];
  } else {
    SEQ_CHECK(int64_t(ctx_.item_counts.size()) == num_items_, "inject: item_counts has ", ctx_.item_counts.size(),
              " entries, want V = ", num_items_);
    for (int64_t i = 0; i < num_items_; ++i) item_count_[size_t(i) + 1] = std::max<int64_t>(0, ctx_.item_counts[size_t(i)]);
  }
  by_popularity_.resize(size_t(num_items_));
  for (int64_t i = 0; i < num_items_; ++i) by_popularity_[size_t(i)] = int32_t(i + 1);
  std::stable_sort(by_popularity_.begin(), by_popularity_.end(),
                   [&](int32_t a, int32_t b) { return item_count_[size_t(a)] > item_count_[size_t(b)]; });
  // +1 smoothing: items never seen in the clean set can still appear as noise, as in real logs.
  std::vector<double> w(static_cast<size_t>(num_items_));
  for (int64_t i = 0; i < num_items_; ++i) w[size_t(i)] = double(item_count_[size_t(i) + 1]) + 1.0;
  popularity_ = DiscreteSampler(w);

  if (clean.has_actions()) {
    std::map<int, int64_t> freq;
    for (int8_t a : clean.action) ++freq[a];
    int64_t best = -1;
    for (auto [a, k] : freq)
      if (k > best) best = k, common_action_ = int8_t(a);
    strongest_action_ = freq.empty() ? int8_t(kActionNone) : int8_t(freq.rbegin()->first);
  }
}

int32_t Injector::draw_noise_item(Rng& rng, const std::vector<int32_t>& avoid_items,
                                  const std::vector<int32_t>& avoid_clusters) const {
  // mixed: the source is chosen once per item, so rejected candidates do not tilt the halves.
  const bool uniform =
      noise_source_ == NoiseSource::mixed ? rng.below(2) == 0 : noise_source_ == NoiseSource::uniform;
  int32_t cand = 1;
  for (int tries = 0; tries < 32; ++tries) {
    cand = uniform ? int32_t(1 + rng.below(uint64_t(num_items_))) : int32_t(1 + popularity_.draw(rng));
    // No clusters to avoid (real data, or edit mode's "outside the user's sequence"): avoid the items.
    bool inside = avoid_clusters.empty() ? contains(avoid_items, cand)
                                         : contains(avoid_clusters, ctx_.item_cluster[size_t(cand)]);
    if (!inside) return cand;
  }
  return cand;  // the user touched nearly everything: any item is as good as another
}

void Injector::EventSink::operator()(int32_t item, int64_t ts, int8_t act, int8_t lab, int64_t src) const {
  out.data.item.push_back(item);
  if (has_ts) out.data.timestamp.push_back(ts);
  if (has_act) out.data.action.push_back(act);
  out.data.label.push_back(lab);
  out.source_event.push_back(src);
}

void Injector::corrupt_sequences(const SequenceSet& in, uint64_t seed, int64_t begin, int64_t end,
                                 InjectionResult& out) const {
  const auto& c = cfg_;
  const bool has_ts = in.has_timestamps(), has_act = in.has_actions(), has_lab = in.has_labels();
  SequenceSet& o = out.data;
  const int64_t V = num_items_;

  const EventSink emit{out, has_ts, has_act};

  for (int64_t s = begin; s < end; ++s) {
    // Keyed by user id, not position: a user's sequence is corrupted the same way whichever batch
    // or rank it lands in.
    Rng rng(hash_combine(seed, kStreamEvents), uint64_t(in.user[size_t(s)]));
    const int64_t b = in.offsets[size_t(s)], e = in.offsets[size_t(s) + 1];
    std::vector<int32_t> avoid_items = sorted_unique({in.item.begin() + b, in.item.begin() + e});
    std::vector<int32_t> avoid_clusters;
    if (!ctx_.item_cluster.empty()) {
      for (int32_t it : avoid_items) avoid_clusters.push_back(ctx_.item_cluster[size_t(it)]);
      avoid_clusters = sorted_unique(std::move(avoid_clusters));
    }

    std::vector<int64_t> pending;  // clean indices of a run of deleted events
    int64_t kept = 0;
    for (int64_t i = b; i < e; ++i) {
      // Four draws per event whatever happens, so one injector's rate never shifts another's choices.
      double u_drop = rng.uniform_double(), u_sub = rng.uniform_double();
      double u_burst = rng.uniform_double(), u_noise = rng.uniform_double();

      const bool protect = i >= e - c.protect_last, no_insert = c.protect_last > 0 && i + 1 >= e - c.protect_last;
      // Keep 3 events (what a leave-one-out split needs) unless the sequence is shorter already.
      bool droppable = !protect && i + 1 < e && kept + (e - 1 - i) >= 3;
      if (droppable && u_drop < c.drop_rate) {
        pending.push_back(i);
        continue;
      }
      int32_t item = in.item[size_t(i)];
      int64_t ts = has_ts ? in.timestamp[size_t(i)] : 0;
      int8_t act = has_act ? in.action[size_t(i)] : int8_t(0);
      int8_t lab = has_lab ? in.label[size_t(i)] : int8_t(kLabelClean);
      int64_t at = int64_t(o.item.size());
      if (!pending.empty()) {
        lab = kLabelGapAfter;
        for (int64_t d : pending) {
          out.dropped_item.push_back(in.item[size_t(d)]);
          out.dropped_before.push_back(at);
          out.dropped_source_event.push_back(d);
        }
        pending.clear();
      } else if (u_sub < c.substitution_rate && !protect) {
        int32_t orig = item;
        if (rng.uniform_double() < c.substitution_near_prob) {
          int64_t d = 1 + int64_t(rng.below(uint64_t(c.substitution_radius)));
          if (rng.below(2)) d = -d;
          int64_t cand = orig + d;
          if (cand < 1 || cand > V) cand = orig - d;
          item = int32_t(std::clamp<int64_t>(cand, 1, V));
        }
        while (item == orig) item = int32_t(1 + rng.below(uint64_t(V)));
        lab = kLabelSubstitution;
      }
      emit(item, ts, act, lab, i);
      ++kept;

      // Insertions go between this event and the next clean one (deleted or not): timestamps stay sorted.
      int64_t t_last = ts;
      int64_t t_next = i + 1 < e && has_ts ? std::max(in.timestamp[size_t(i) + 1], ts)
                                           : std::numeric_limits<int64_t>::max() / 2;
      if (u_burst < c.burst_rate && !no_insert) {
        int64_t k = c.burst_min + int64_t(rng.below(uint64_t(c.burst_max - c.burst_min + 1)));
        for (int64_t r = 0; r < k; ++r) {
          if (has_ts) t_last = std::min(t_next, t_last + int64_t(std::llround(rng.uniform_double() * c.burst_gap_max_s)));
          emit(item, t_last, act, kLabelBurstRepeat, -1);
        }
      }
      if (u_noise < c.noise_rate && !no_insert) {
        int32_t noise = draw_noise_item(rng, avoid_items, avoid_clusters);
        if (has_ts) {
          int64_t t;
          if (t_next - t_last <= kSessionGapS)
            t = t_last + int64_t(rng.below(uint64_t(t_next - t_last + 1)));
          else
            t = std::min(t_next, t_last + 1 + int64_t(std::llround(draw_lognormal(rng, 20.0, 1.0))));
          t_last = t;
        }
        emit(noise, t_last, common_action_, kLabelNoiseClick, -1);
      }
    }
    o.offsets.push_back(int64_t(o.item.size()));
    o.user.push_back(in.user[size_t(s)]);
    o.seq_label.push_back(has_lab && !in.seq_label.empty() ? in.seq_label[size_t(s)] : int8_t(kLabelClean));
    out.source_sequence.push_back(s);
    out.dropped_offsets.push_back(int64_t(out.dropped_item.size()));
  }
}

InjectionResult Injector::run(const SequenceSet& in, uint64_t seed, int threads) const {
  if (&in != &clean_) in.validate(num_items_);
  const int64_t n = in.num_sequences();
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  threads = int(std::clamp<int64_t>(threads, 1, std::max<int64_t>(1, n / 64)));
  std::vector<InjectionResult> parts(static_cast<size_t>(threads));
  auto corrupt = [this](const SequenceSet& set, uint64_t sd, int64_t b, int64_t e, InjectionResult& out) {
    if (cfg_.mode == "edit")
      edit_sequences(set, sd, b, e, out);
    else
      corrupt_sequences(set, sd, b, e, out);
  };
  if (threads == 1) {
    corrupt(in, seed, 0, n, parts[0]);
  } else {
    std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
      pool.emplace_back([&, i] {
        try {
          corrupt(in, seed, n * i / threads, n * (i + 1) / threads, parts[size_t(i)]);
        } catch (...) {
          errors[size_t(i)] = std::current_exception();
        }
      });
    for (auto& th : pool) th.join();
    for (auto& err : errors)
      if (err) std::rethrow_exception(err);
  }

  InjectionResult r = std::move(parts[0]);
  for (size_t p = 1; p < parts.size(); ++p) {
    InjectionResult& q = parts[p];
    int64_t ebase = r.data.num_events(), dbase = int64_t(r.dropped_item.size());
    auto& d = r.data;
    for (size_t k = 1; k < q.data.offsets.size(); ++k) d.offsets.push_back(ebase + q.data.offsets[k]);
    d.item.insert(d.item.end(), q.data.item.begin(), q.data.item.end());
    d.timestamp.insert(d.timestamp.end(), q.data.timestamp.begin(), q.data.timestamp.end());
    d.action.insert(d.action.end(), q.data.action.begin(), q.data.action.end());
    d.label.insert(d.label.end(), q.data.label.begin(), q.data.label.end());
    d.user.insert(d.user.end(), q.data.user.begin(), q.data.user.end());
    d.seq_label.insert(d.seq_label.end(), q.data.seq_label.begin(), q.data.seq_label.end());
    r.source_sequence.insert(r.source_sequence.end(), q.source_sequence.begin(), q.source_sequence.end());
    r.source_event.insert(r.source_event.end(), q.source_event.begin(), q.source_event.end());
    for (size_t k = 1; k < q.dropped_offsets.size(); ++k) r.dropped_offsets.push_back(dbase + q.dropped_offsets[k]);
    r.dropped_item.insert(r.dropped_item.end(), q.dropped_item.begin(), q.dropped_item.end());
    for (int64_t x : q.dropped_before) r.dropped_before.push_back(ebase + x);
    r.dropped_source_event.insert(r.dropped_source_event.end(), q.dropped_source_event.begin(),
                                  q.dropped_source_event.end());
  }

  add_bots(in, seed, r);

  for (int8_t l : r.data.label)
    if (l >= 0 && l < int8_t(r.label_events.size())) ++r.label_events[size_t(l)];
  for (int8_t l : r.data.seq_label)
    if (l >= 0 && l < int8_t(r.label_sequences.size())) ++r.label_sequences[size_t(l)];
  return r;
}

InjectionResult inject(const SequenceSet& clean, const InjectionConfig& config, uint64_t seed,
                       const InjectionContext& context) {
  return Injector(clean, config, context).run(seed);
}

}  // namespace seqmend
