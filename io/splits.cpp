#include "io/splits.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace seqmend {

SplitBuilder::SplitBuilder(const SequenceSet& all, const IngestSplitOptions& opts) : all_(all) {
  if (opts.method == "leave_one_out") {
    bool any = false;
    for (int64_t s = 0; s < all.num_sequences() && !any; ++s) any = all.length(s) >= 3;
    SEQ_CHECK(any, "ingest: leave-one-out split: no user has 3 or more events");
    return;
  }
  SEQ_CHECK(opts.method == "temporal", "ingest: unknown split.method '", opts.method, "' (leave_one_out, temporal)");
  SEQ_CHECK(all.has_timestamps(), "ingest: split.method=temporal needs timestamps; this input has none "
                                  "(use split.method=leave_one_out)");
  temporal_ = true;
  valid_time_ = opts.valid_time;
  test_time_ = opts.test_time;
  if (valid_time_ == 0 || test_time_ == 0) {
    SEQ_CHECK(opts.valid_fraction >= 0 && opts.test_fraction > 0 && opts.valid_fraction + opts.test_fraction < 1,
              "ingest: split.valid_fraction=", opts.valid_fraction, " and split.test_fraction=", opts.test_fraction,
              " must be >= 0, > 0 and sum to less than 1");
    std::vector<int64_t> ts = all.timestamp;
    auto quantile = [&](double q) {
      size_t k = std::min(ts.size() - 1, size_t(std::floor(q * double(ts.size()))));
      std::nth_element(ts.begin(), ts.begin() + ptrdiff_t(k), ts.end());
      return ts[k];
    };
    if (test_time_ == 0) test_time_ = quantile(1.0 - opts.test_fraction);
    if (valid_time_ == 0) valid_time_ = quantile(1.0 - opts.valid_fraction - opts.test_fraction);
  }
  SEQ_CHECK(valid_time_ <= test_time_, "ingest: split.valid_time ", valid_time_, " is after split.test_time ",
            test_time_);
  int64_t earliest = *std::min_element(all.timestamp.begin(), all.timestamp.end());
  SEQ_CHECK(earliest < valid_time_, "ingest: temporal split: no events before the validation cut ", valid_time_,
            " (earliest event at ", earliest, ")");
}

void SplitBuilder::add(int64_t begin, int64_t end, SplitSets* out) {
  SequenceSet* sets[3] = {out ? &out->train : nullptr, out ? &out->valid : nullptr, out ? &out->test : nullptr};
  auto put = [&](int k, int64_t s, int64_t n) {
    if (out) sets[k]->append_from(all_, s, n);
    ++sequences_[k];
    events_[k] += n;
  };
  for (int64_t s = begin; s < end; ++s) {
    const int64_t len = all_.length(s);
    if (!temporal_) {
      if (len < 3) {
        ++dropped_;
        continue;
      }
      put(0, s, len - 2);
      put(1, s, len - 1);
      put(2, s, len);
      continue;
    }
    const int64_t* b = all_.timestamp.data() + all_.offsets[size_t(s)];
    int64_t before_valid = std::lower_bound(b, b + len, valid_time_) - b;
    int64_t before_test = std::lower_bound(b, b + len, test_time_) - b;
    if (before_valid > 0) put(0, s, before_valid);
    if (before_valid > 0 && before_test > before_valid) put(1, s, before_valid + 1);
    if (before_test > 0 && len > before_test) put(2, s, before_test + 1);
  }
}

nlohmann::json SplitBuilder::info() const {
  nlohmann::json counts;
  const char* names[3] = {"train", "valid", "test"};
  for (int k = 0; k < 3; ++k) counts[names[k]] = {{"sequences", sequences_[k]}, {"events", events_[k]}};
  if (!temporal_)
    return {{"method", "leave_one_out"},
            {"train", "each user's sequence without its last two events"},
            {"valid", "each user's sequence without its last event; target = last stored event"},
            {"test", "each user's full sequence; target = last stored event"},
            {"users_dropped_fewer_than_3_events", dropped_},
            {"counts", counts}};
  return {{"method", "temporal"},
          {"valid_time", valid_time_},
          {"test_time", test_time_},
          {"train", "each user's events before valid_time"},
          {"valid", "events before valid_time + the user's first event in [valid_time, test_time); "
                    "target = last stored event"},
          {"test", "events before test_time + the user's first event at or after test_time; "
                   "target = last stored event"},
          {"counts", counts}};
}

SplitSets make_splits(const SequenceSet& all, const IngestSplitOptions& opts) {
  SplitBuilder b(all, opts);
  SplitSets out;
  b.add(0, all.num_sequences(), &out);
  out.info = b.info();
  return out;
}

}  // namespace seqmend
