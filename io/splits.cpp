#include "io/splits.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace seqmend {
namespace {

// Appends the first n events of sequence s of `from` to `to`.
void append_prefix(SequenceSet& to, const SequenceSet& from, int64_t s, int64_t n) {
  size_t b = size_t(from.offsets[size_t(s)]);
  to.append(from.user[size_t(s)], from.item.data() + b, n, from.has_timestamps() ? from.timestamp.data() + b : nullptr,
            from.has_actions() ? from.action.data() + b : nullptr, from.has_labels() ? from.label.data() + b : nullptr,
            from.has_labels() ? from.seq_label[size_t(s)] : int8_t(0));
}

nlohmann::json counts(const SplitSets& s) {
  auto one = [](const SequenceSet& x) { return nlohmann::json{{"sequences", x.num_sequences()}, {"events", x.num_events()}}; };
  return {{"train", one(s.train)}, {"valid", one(s.valid)}, {"test", one(s.test)}};
}

// Reserves every column of `s` for n sequences and e events, like `like` has them.
void reserve_like(SequenceSet& s, const SequenceSet& like, int64_t n, int64_t e) {
  s.offsets.reserve(size_t(n) + 1);
  s.user.reserve(size_t(n));
  s.item.reserve(size_t(e));
  if (like.has_timestamps()) s.timestamp.reserve(size_t(e));
  if (like.has_actions()) s.action.reserve(size_t(e));
  if (like.has_labels()) {
    s.label.reserve(size_t(e));
    s.seq_label.reserve(size_t(n));
  }
}

}  // namespace

SplitSets split_leave_one_out(const SequenceSet& all) {
  SplitSets out;
  int64_t dropped = 0;
  {
    int64_t n = 0, e = 0;
    for (int64_t s = 0; s < all.num_sequences(); ++s)
      if (all.length(s) >= 3) {
        ++n;
        e += all.length(s);
      }
    reserve_like(out.train, all, n, e - 2 * n);
    reserve_like(out.valid, all, n, e - n);
    reserve_like(out.test, all, n, e);
  }
  for (int64_t s = 0; s < all.num_sequences(); ++s) {
    int64_t len = all.length(s);
    if (len < 3) {
      ++dropped;
      continue;
    }
    append_prefix(out.train, all, s, len - 2);
    append_prefix(out.valid, all, s, len - 1);
    append_prefix(out.test, all, s, len);
  }
  SEQ_CHECK(out.test.num_sequences() > 0, "ingest: leave-one-out split: no user has 3 or more events");
  out.info = {{"method", "leave_one_out"},
              {"train", "each user's sequence without its last two events"},
              {"valid", "each user's sequence without its last event; target = last stored event"},
              {"test", "each user's full sequence; target = last stored event"},
              {"users_dropped_fewer_than_3_events", dropped},
              {"counts", counts(out)}};
  return out;
}

SplitSets split_temporal(const SequenceSet& all, const IngestSplitOptions& opts) {
  SEQ_CHECK(all.has_timestamps(), "ingest: split.method=temporal needs timestamps; this input has none "
                                  "(use split.method=leave_one_out)");
  int64_t t_valid = opts.valid_time, t_test = opts.test_time;
  if (t_valid == 0 || t_test == 0) {
    SEQ_CHECK(opts.valid_fraction >= 0 && opts.test_fraction > 0 && opts.valid_fraction + opts.test_fraction < 1,
              "ingest: split.valid_fraction=", opts.valid_fraction, " and split.test_fraction=", opts.test_fraction,
              " must be >= 0, > 0 and sum to less than 1");
    std::vector<int64_t> ts = all.timestamp;
    auto quantile = [&](double q) {
      size_t k = std::min(ts.size() - 1, size_t(std::floor(q * double(ts.size()))));
      std::nth_element(ts.begin(), ts.begin() + ptrdiff_t(k), ts.end());
      return ts[k];
    };
    if (t_test == 0) t_test = quantile(1.0 - opts.test_fraction);
    if (t_valid == 0) t_valid = quantile(1.0 - opts.valid_fraction - opts.test_fraction);
  }
  SEQ_CHECK(t_valid <= t_test, "ingest: split.valid_time ", t_valid, " is after split.test_time ", t_test);
  SplitSets out;
  for (int64_t s = 0; s < all.num_sequences(); ++s) {
    const int64_t* b = all.timestamp.data() + all.offsets[size_t(s)];
    const int64_t len = all.length(s);
    int64_t before_valid = std::lower_bound(b, b + len, t_valid) - b;
    int64_t before_test = std::lower_bound(b, b + len, t_test) - b;
    if (before_valid > 0) append_prefix(out.train, all, s, before_valid);
    if (before_valid > 0 && before_test > before_valid) append_prefix(out.valid, all, s, before_valid + 1);
    if (before_test > 0 && len > before_test) append_prefix(out.test, all, s, before_test + 1);
  }
  SEQ_CHECK(out.train.num_sequences() > 0, "ingest: temporal split: no events before the validation cut ", t_valid);
  out.info = {{"method", "temporal"},
              {"valid_time", t_valid},
              {"test_time", t_test},
              {"train", "each user's events before valid_time"},
              {"valid", "events before valid_time + the user's first event in [valid_time, test_time); "
                        "target = last stored event"},
              {"test", "events before test_time + the user's first event at or after test_time; "
                       "target = last stored event"},
              {"counts", counts(out)}};
  return out;
}

SplitSets make_splits(const SequenceSet& all, const IngestSplitOptions& opts) {
  if (opts.method == "leave_one_out") return split_leave_one_out(all);
  SEQ_CHECK(opts.method == "temporal", "ingest: unknown split.method '", opts.method, "' (leave_one_out, temporal)");
  return split_temporal(all, opts);
}

}  // namespace seqmend
