// Whole bot / shilling sequences appended as new users (part of Injector, see io/injectors.h).
#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "io/injectors.h"

namespace seqmend {

namespace {
constexpr uint64_t kStreamBots = 0x626f7473;     // per bot sequence
constexpr uint64_t kStreamTargets = 0x74617267;  // the push targets of one run
}  // namespace

void Injector::add_bots(const SequenceSet& in, uint64_t seed, InjectionResult& r) const {
  const auto& c = cfg_;
  const int64_t n = in.num_sequences(), E = in.num_events(), V = num_items_;
  if (n == 0 || E == 0 || c.bot_rate <= 0) return;
  const int64_t total = std::llround(c.bot_rate * double(n));
  const double mix = c.bot_mix[0] + c.bot_mix[1] + c.bot_mix[2];
  // Bot b is of type 0 (uniform) for b < first[1], 1 (popular) for b < first[2], else 2 (push);
  // rounding the cumulative shares keeps the split exact in total.
  const int64_t first[3] = {0, std::llround(double(total) * c.bot_mix[0] / mix),
                            std::llround(double(total) * (c.bot_mix[0] + c.bot_mix[1]) / mix)};
  const int8_t codes[3] = {kLabelBotUniform, kLabelBotPopular, kLabelBotPush};

  // Targets come from outside the top 20 % by popularity: pushing an already popular item is pointless.
  Rng trng(hash_combine(seed, kStreamTargets), 0);
  int64_t lo = V >= 10 ? V / 5 : 0;
  int64_t want = std::min<int64_t>(c.push_targets, V - lo);
  r.push_targets.clear();
  while (int64_t(r.push_targets.size()) < want) {
    int32_t t = by_popularity_[size_t(lo + int64_t(trng.below(uint64_t(V - lo))))];
    if (std::find(r.push_targets.begin(), r.push_targets.end(), t) == r.push_targets.end())
      r.push_targets.push_back(t);
  }
  const int64_t top = std::min<int64_t>(c.bot_popular_top, V);

  int64_t next_user = 0;
  for (int64_t u : in.user) next_user = std::max(next_user, u + 1);
  const bool has_ts = in.has_timestamps(), has_act = in.has_actions();
  SequenceSet& o = r.data;
  for (int64_t b = 0; b < total; ++b) {
    const int type = b < first[1] ? 0 : b < first[2] ? 1 : 2;
    Rng rng(hash_combine(seed, kStreamBots), uint64_t(b));
    // Length of a random real user, so a bot is not given away by its length alone.
    // (at least 3, so leave-one-out splits keep it).
    int64_t len = std::max<int64_t>(3, in.length(int64_t(rng.below(uint64_t(n)))));
    double t = has_ts ? double(in.timestamp[size_t(rng.below(uint64_t(E)))]) : 0.0;
    for (int64_t j = 0; j < len; ++j) {
      int32_t item;
      int8_t act = common_action_;
      if (type == 0) {
        item = int32_t(1 + rng.below(uint64_t(V)));
      } else if (type == 1 || rng.uniform_double() >= c.push_share) {
        item = by_popularity_[size_t(rng.below(uint64_t(top)))];
      } else {
        item = r.push_targets[size_t(rng.below(r.push_targets.size()))];
        act = strongest_action_;
      }
      if (j > 0) t += draw_lognormal(rng, c.bot_gap_median_s, 0.5);
      o.item.push_back(item);
      if (has_ts) o.timestamp.push_back(std::llround(t));
      if (has_act) o.action.push_back(act);
      o.label.push_back(codes[type]);
      r.source_event.push_back(-1);
    }
    o.offsets.push_back(int64_t(o.item.size()));
    o.user.push_back(next_user + b);
    o.seq_label.push_back(codes[type]);
    r.source_sequence.push_back(-1);
    r.dropped_offsets.push_back(r.dropped_offsets.back());
  }
}

}  // namespace seqmend
