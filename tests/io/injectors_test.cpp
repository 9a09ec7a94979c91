#include "io/injectors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/base/error.h"
#include "io/simulator.h"

namespace seqmend {
namespace {

struct World {
  Simulator sim;
  SequenceSet clean;
  explicit World(int64_t users = 600) : sim(config(users)), clean(sim.generate(2)) {}
  static SimulatorConfig config(int64_t users) {
    SimulatorConfig c;
    c.num_users = users;
    c.num_items = 1500;
    c.num_clusters = 15;
    return c;
  }
  InjectionContext context() const { return {sim.num_items(), sim.item_cluster(), {}}; }
};

InjectionConfig busy_config() {
  InjectionConfig c;
  c.noise_rate = 0.05;
  c.substitution_rate = 0.04;
  c.burst_rate = 0.01;
  c.drop_rate = 0.05;
  c.bot_rate = 0.1;
  return c;
}

void expect_same(const SequenceSet& a, const SequenceSet& b) {
  EXPECT_EQ(a.offsets, b.offsets);
  EXPECT_EQ(a.item, b.item);
  EXPECT_EQ(a.timestamp, b.timestamp);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.label, b.label);
  EXPECT_EQ(a.seq_label, b.seq_label);
}

// |observed - p·n| within 4.5 binomial standard deviations.
void expect_rate(int64_t observed, double p, int64_t n, const char* what) {
  double mean = p * double(n), sd = std::sqrt(double(n) * p * (1 - p));
  EXPECT_NEAR(double(observed), mean, 4.5 * sd + 1) << what;
}

TEST(InjectorTest, InputIsNeverModified) {
  World w(200);
  SequenceSet before = w.clean;
  InjectionResult r = inject(w.clean, busy_config(), 7, w.context());
  expect_same(w.clean, before);
  EXPECT_GT(r.data.num_events(), 0);
}

TEST(InjectorTest, EveryEventCarriesTheRightLabel) {
  World w;
  const SequenceSet& in = w.clean;
  InjectionConfig cfg = busy_config();
  InjectionResult r = inject(in, cfg, 11, w.context());
  const SequenceSet& o = r.data;
  ASSERT_NO_THROW(o.validate(w.sim.num_items()));
  ASSERT_EQ(int64_t(r.source_event.size()), o.num_events());
  ASSERT_EQ(int64_t(r.source_sequence.size()), o.num_sequences());

  int64_t noise = 0, subs = 0, repeats = 0, bursts = 0, gaps = 0;
  for (int64_t s = 0; s < o.num_sequences(); ++s) {
    int64_t src = r.source_sequence[size_t(s)];
    if (src < 0) continue;  // bots: checked in their own test
    EXPECT_EQ(o.user[size_t(s)], in.user[size_t(src)]);
    EXPECT_EQ(o.seq_label[size_t(s)], kLabelClean);
    std::set<int32_t> user_clusters;
    for (int64_t i = in.offsets[size_t(src)]; i < in.offsets[size_t(src) + 1]; ++i)
      user_clusters.insert(w.sim.item_cluster()[size_t(in.item[size_t(i)])]);
    int64_t last_copied = -1;
    for (int64_t i = o.offsets[size_t(s)]; i < o.offsets[size_t(s) + 1]; ++i) {
      int64_t e = r.source_event[size_t(i)];
      int8_t lab = o.label[size_t(i)];
      if (i > o.offsets[size_t(s)]) {
        ASSERT_GE(o.timestamp[size_t(i)], o.timestamp[size_t(i - 1)]) << "event " << i;
      }
      if (e >= 0) {
        // A copied clean event: same time and action; same item unless substituted.
        ASSERT_TRUE(lab == kLabelClean || lab == kLabelSubstitution || lab == kLabelGapAfter) << int(lab);
        ASSERT_EQ(o.timestamp[size_t(i)], in.timestamp[size_t(e)]);
        ASSERT_EQ(o.action[size_t(i)], in.action[size_t(e)]);
        if (lab == kLabelSubstitution) {
          ASSERT_NE(o.item[size_t(i)], in.item[size_t(e)]);
          ++subs;
        } else {
          ASSERT_EQ(o.item[size_t(i)], in.item[size_t(e)]);
        }
        gaps += lab == kLabelGapAfter;
        last_copied = i;
      } else if (lab == kLabelBurstRepeat) {
        ASSERT_GE(last_copied, 0);
        if (o.label[size_t(i - 1)] != kLabelBurstRepeat) ++bursts;
        ASSERT_EQ(o.item[size_t(i)], o.item[size_t(last_copied)]);
        ASSERT_EQ(o.action[size_t(i)], o.action[size_t(last_copied)]);
        ASSERT_LE(o.timestamp[size_t(i)] - o.timestamp[size_t(i - 1)], int64_t(cfg.burst_gap_max_s) + 1);
        ++repeats;
      } else {
        ASSERT_EQ(lab, kLabelNoiseClick);
        // Noise comes from outside every cluster the user touched.
        ASSERT_EQ(user_clusters.count(w.sim.item_cluster()[size_t(o.item[size_t(i)])]), 0u);
        ASSERT_EQ(o.action[size_t(i)], kActionView);  // the data's most common action
        ++noise;
      }
    }
  }
  const int64_t E = in.num_events();
  expect_rate(noise, cfg.noise_rate, E, "noise clicks");
  expect_rate(bursts, cfg.burst_rate, E, "bursts");
  expect_rate(int64_t(r.dropped_item.size()), cfg.drop_rate, E - in.num_sequences(), "dropped events");
  // Substitutions only hit events not right after a gap.
  expect_rate(subs, cfg.substitution_rate, E - int64_t(r.dropped_item.size()) - gaps, "substitutions");
  EXPECT_GE(repeats, bursts * cfg.burst_min);
  EXPECT_LE(repeats, bursts * cfg.burst_max);
  EXPECT_EQ(r.label_events[kLabelNoiseClick], noise);
  EXPECT_EQ(r.label_events[kLabelSubstitution], subs);
  EXPECT_EQ(r.label_events[kLabelBurstRepeat], repeats);
  EXPECT_EQ(r.label_events[kLabelGapAfter], gaps);
}

TEST(InjectorTest, DroppedEventsAreRecoverable) {
  World w;
  const SequenceSet& in = w.clean;
  InjectionConfig cfg;
  cfg.drop_rate = 0.1;
  InjectionResult r = inject(in, cfg, 5, w.context());
  const SequenceSet& o = r.data;
  ASSERT_EQ(int64_t(r.dropped_offsets.size()), o.num_sequences() + 1);
  ASSERT_EQ(r.dropped_item.size(), r.dropped_before.size());
  ASSERT_EQ(r.dropped_item.size(), r.dropped_source_event.size());
  ASSERT_GT(r.dropped_item.size(), 1000u);
  for (int64_t s = 0; s < o.num_sequences(); ++s) {
    int64_t src = r.source_sequence[size_t(s)];
    if (src < 0) {
      EXPECT_EQ(r.dropped_offsets[size_t(s)], r.dropped_offsets[size_t(s) + 1]);
      continue;
    }
    // Copied events plus dropped ones give back exactly the clean sequence, in order.
    std::vector<int64_t> seen;
    std::set<int64_t> gap_events;
    for (int64_t i = o.offsets[size_t(s)]; i < o.offsets[size_t(s) + 1]; ++i)
      if (r.source_event[size_t(i)] >= 0) seen.push_back(r.source_event[size_t(i)]);
    for (int64_t d = r.dropped_offsets[size_t(s)]; d < r.dropped_offsets[size_t(s) + 1]; ++d) {
      int64_t e = r.dropped_source_event[size_t(d)], at = r.dropped_before[size_t(d)];
      seen.push_back(e);
      EXPECT_EQ(r.dropped_item[size_t(d)], in.item[size_t(e)]);
      // The labelled event after the gap is the next surviving clean event.
      ASSERT_GE(at, o.offsets[size_t(s)]);
      ASSERT_LT(at, o.offsets[size_t(s) + 1]);
      EXPECT_EQ(o.label[size_t(at)], kLabelGapAfter);
      EXPECT_GT(r.source_event[size_t(at)], e);
      gap_events.insert(at);
    }
    std::sort(seen.begin(), seen.end());
    ASSERT_EQ(int64_t(seen.size()), in.length(src));
    for (size_t k = 0; k < seen.size(); ++k) ASSERT_EQ(seen[k], in.offsets[size_t(src)] + int64_t(k));
    // ...and no event is labelled as a gap without a recorded drop before it.
    for (int64_t i = o.offsets[size_t(s)]; i < o.offsets[size_t(s) + 1]; ++i)
      EXPECT_EQ(o.label[size_t(i)] == kLabelGapAfter, gap_events.count(i) == 1) << "event " << i;
    // The last clean event is never dropped and sequences keep at least 3 events.
    // (noise or a burst may still follow it).
    int64_t last = o.offsets[size_t(s) + 1] - 1;
    while (r.source_event[size_t(last)] < 0) --last;
    EXPECT_EQ(r.source_event[size_t(last)], in.offsets[size_t(src) + 1] - 1);
    int64_t copied = std::count_if(r.source_event.begin() + o.offsets[size_t(s)],
                                   r.source_event.begin() + o.offsets[size_t(s) + 1], [](int64_t e) { return e >= 0; });
    EXPECT_GE(copied, std::min<int64_t>(3, in.length(src)));
  }
}

TEST(InjectorTest, ProtectedTailStaysGenuine) {
  World w(400);
  InjectionConfig cfg = busy_config();
  cfg.noise_rate = cfg.substitution_rate = cfg.drop_rate = 0.3;
  cfg.burst_rate = 0.2;
  cfg.protect_last = 2;
  InjectionResult r = inject(w.clean, cfg, 8, w.context());
  int64_t checked = 0;
  for (int64_t s = 0; s < r.data.num_sequences(); ++s) {
    int64_t src = r.source_sequence[size_t(s)];
    if (src < 0) continue;
    int64_t e_out = r.data.offsets[size_t(s) + 1], e_in = w.clean.offsets[size_t(src) + 1];
    for (int64_t k = 1; k <= 2; ++k) {
      ASSERT_EQ(r.source_event[size_t(e_out - k)], e_in - k) << "sequence " << s;
      ASSERT_EQ(r.data.item[size_t(e_out - k)], w.clean.item[size_t(e_in - k)]);
      ASSERT_EQ(r.data.timestamp[size_t(e_out - k)], w.clean.timestamp[size_t(e_in - k)]);
    }
    // Only a gap label may sit on the second-last event (a drop before it); the last one is clean.
    EXPECT_EQ(r.data.label[size_t(e_out - 1)], kLabelClean);
    int8_t l2 = r.data.label[size_t(e_out - 2)];
    EXPECT_TRUE(l2 == kLabelClean || l2 == kLabelGapAfter) << int(l2);
    ++checked;
  }
  EXPECT_EQ(checked, 400);
}

TEST(InjectorTest, DeterministicForSeedAndThreadCount) {
  World w(300);
  InjectionConfig cfg = busy_config();
  Injector injector(w.clean, cfg, w.context());
  InjectionResult a = injector.run(3, 1), b = injector.run(3, 4), c = injector.run(4, 2);
  expect_same(a.data, b.data);
  EXPECT_EQ(a.source_event, b.source_event);
  EXPECT_EQ(a.dropped_item, b.dropped_item);
  EXPECT_EQ(a.dropped_before, b.dropped_before);
  EXPECT_EQ(a.dropped_offsets, b.dropped_offsets);
  EXPECT_NE(a.data.label, c.data.label);
  EXPECT_NE(a.data.item, c.data.item);
}

// A batch holding some of the users gets exactly the corruption those users get in the whole set.
TEST(InjectorTest, SameUserSameCorruptionInAnyBatch) {
  World w(300);
  InjectionConfig cfg = busy_config();
  cfg.bot_rate = 0;
  InjectionResult all = inject(w.clean, cfg, 6, w.context());
  SequenceSet batch;
  for (int64_t s = 200; s >= 150; s -= 5) {  // reversed and strided: positions differ from the full set
    int64_t b = w.clean.offsets[size_t(s)];
    batch.append(w.clean.user[size_t(s)], w.clean.item.data() + b, w.clean.length(s), w.clean.timestamp.data() + b,
                 w.clean.action.data() + b, w.clean.label.data() + b, w.clean.seq_label[size_t(s)]);
  }
  InjectionResult part = Injector(w.clean, cfg, w.context()).run(batch, 6);
  // A separate injector built on the batch alone agrees too when it is given the global item counts.
  InjectionContext ctx = w.context();
  ctx.item_counts.assign(size_t(w.sim.num_items()), 0);
  for (int32_t it : w.clean.item) ++ctx.item_counts[size_t(it - 1)];
  InjectionResult alone = inject(batch, cfg, 6, ctx);
  EXPECT_EQ(alone.data.item, part.data.item);
  EXPECT_EQ(alone.data.label, part.data.label);
  for (int64_t k = 0; k < part.data.num_sequences(); ++k) {
    int64_t s = 200 - 5 * k;
    ASSERT_EQ(part.data.length(k), all.data.length(s));
    for (int64_t j = 0; j < part.data.length(k); ++j) {
      size_t i = size_t(part.data.offsets[size_t(k)] + j), i0 = size_t(all.data.offsets[size_t(s)] + j);
      ASSERT_EQ(part.data.item[i], all.data.item[i0]);
      ASSERT_EQ(part.data.label[i], all.data.label[i0]);
      ASSERT_EQ(part.data.timestamp[i], all.data.timestamp[i0]);
    }
  }
}

TEST(InjectorTest, ZeroRatesGiveTheInputBackUnlabelled) {
  World w(100);
  InjectionConfig cfg;
  cfg.noise_rate = cfg.substitution_rate = cfg.burst_rate = cfg.drop_rate = cfg.bot_rate = 0;
  InjectionResult r = inject(w.clean, cfg, 1, w.context());
  expect_same(r.data, w.clean);
  EXPECT_EQ(r.label_events[kLabelClean], w.clean.num_events());
  EXPECT_TRUE(r.dropped_item.empty());
}

TEST(InjectorTest, BotsAreNewFullyLabelledUsers) {
  World w(1000);
  InjectionConfig cfg;
  cfg.noise_rate = cfg.substitution_rate = cfg.burst_rate = cfg.drop_rate = 0;
  cfg.bot_rate = 0.09;
  cfg.bot_popular_top = 50;
  InjectionResult r = inject(w.clean, cfg, 9, w.context());
  const SequenceSet& o = r.data;
  ASSERT_EQ(o.num_sequences(), 1000 + 90);
  EXPECT_EQ(r.label_sequences[kLabelBotUniform], 30);
  EXPECT_EQ(r.label_sequences[kLabelBotPopular], 30);
  EXPECT_EQ(r.label_sequences[kLabelBotPush], 30);
  ASSERT_EQ(r.push_targets.size(), 5u);

  std::vector<int64_t> count(size_t(w.sim.num_items()) + 1, 0);
  for (int32_t it : w.clean.item) ++count[size_t(it)];
  std::vector<int64_t> sorted(count.begin() + 1, count.end());
  std::sort(sorted.rbegin(), sorted.rend());
  for (int32_t t : r.push_targets) EXPECT_LE(count[size_t(t)], sorted[sorted.size() / 5]) << "target " << t;

  std::set<int64_t> users;
  int64_t target_hits = 0, push_events = 0;
  std::set<int32_t> uniform_items;
  for (int64_t s = 0; s < o.num_sequences(); ++s) {
    EXPECT_TRUE(users.insert(o.user[size_t(s)]).second) << "user ids must stay unique";
    int8_t code = o.seq_label[size_t(s)];
    EXPECT_EQ(r.source_sequence[size_t(s)] < 0, code != kLabelClean);
    if (code == kLabelClean) continue;
    EXPECT_GE(o.user[size_t(s)], 1000);
    EXPECT_GE(o.length(s), 3);
    for (int64_t i = o.offsets[size_t(s)]; i < o.offsets[size_t(s) + 1]; ++i) {
      ASSERT_EQ(o.label[size_t(i)], code);
      if (i > o.offsets[size_t(s)]) {
        ASSERT_GE(o.timestamp[size_t(i)], o.timestamp[size_t(i - 1)]);
      }
      int32_t it = o.item[size_t(i)];
      bool target = std::count(r.push_targets.begin(), r.push_targets.end(), it) > 0;
      if (code == kLabelBotPopular) { EXPECT_GE(count[size_t(it)], sorted[49]); }
      if (code == kLabelBotUniform) uniform_items.insert(it);
      if (code == kLabelBotPush) {
        ++push_events;
        target_hits += target;
        EXPECT_EQ(o.action[size_t(i)], target ? kActionBuy : kActionView);
        if (!target) {
          EXPECT_GE(count[size_t(it)], sorted[49]);
        }
      }
    }
  }
  EXPECT_NEAR(double(target_hits) / double(push_events), cfg.push_share, 0.05);
  EXPECT_GT(uniform_items.size(), 600u);  // uniform bots cover the catalogue, popular ones do not
}

// Sequence-per-line input: items only, no timestamps, actions, labels or clusters.
TEST(InjectorTest, WorksWithoutTimestampsActionsOrClusters) {
  SequenceSet in;
  Rng rng(1, 2);
  for (int64_t u = 0; u < 300; ++u) {
    std::vector<int32_t> items;
    for (int j = 0; j < 20 + int(u % 30); ++j) items.push_back(int32_t(1 + rng.below(200)));
    in.append(u, items.data(), int64_t(items.size()));
  }
  SequenceSet before = in;
  InjectionConfig cfg = busy_config();
  InjectionResult r = inject(in, cfg, 2);
  expect_same(in, before);
  const SequenceSet& o = r.data;
  EXPECT_FALSE(o.has_timestamps());
  EXPECT_FALSE(o.has_actions());
  ASSERT_TRUE(o.has_labels());
  ASSERT_NO_THROW(o.validate(200));
  EXPECT_EQ(o.num_sequences(), 330);
  for (int64_t s = 0; s < 300; ++s) {
    std::set<int32_t> mine(in.item.begin() + in.offsets[size_t(s)], in.item.begin() + in.offsets[size_t(s) + 1]);
    for (int64_t i = o.offsets[size_t(s)]; i < o.offsets[size_t(s) + 1]; ++i)
      if (o.label[size_t(i)] == kLabelNoiseClick) { EXPECT_EQ(mine.count(o.item[size_t(i)]), 0u); }
  }
  for (int code = kLabelNoiseClick; code <= kLabelGapAfter; ++code)
    EXPECT_GT(r.label_events[size_t(code)], 0) << anomaly_label_name(code);
}

TEST(InjectorTest, LabelsOfTheInputAreKept) {
  World w(200);
  InjectionConfig first = busy_config();
  first.bot_rate = 0.05;
  InjectionResult a = inject(w.clean, first, 1, w.context());
  InjectionConfig second;
  second.substitution_rate = second.burst_rate = second.drop_rate = second.bot_rate = 0;
  second.noise_rate = 0.05;
  InjectionResult b = inject(a.data, second, 2, w.context());
  EXPECT_EQ(b.data.seq_label, a.data.seq_label);
  int64_t copied = 0;
  for (int64_t i = 0; i < b.data.num_events(); ++i) {
    int64_t e = b.source_event[size_t(i)];
    if (e < 0) {
      EXPECT_EQ(b.data.label[size_t(i)], kLabelNoiseClick);
      continue;
    }
    ASSERT_EQ(b.data.label[size_t(i)], a.data.label[size_t(e)]) << "event " << i;
    copied += a.data.label[size_t(e)] != kLabelClean;
  }
  EXPECT_GT(copied, 500);
  EXPECT_EQ(b.label_events[kLabelNoiseClick] - a.label_events[kLabelNoiseClick],
            int64_t(std::count(b.source_event.begin(), b.source_event.end(), -1)));
}

TEST(InjectorTest, NearSubstitutionsStayWithinTheRadius) {
  World w(200);
  InjectionConfig cfg;
  cfg.noise_rate = cfg.burst_rate = cfg.drop_rate = cfg.bot_rate = 0;
  cfg.substitution_rate = 0.2;
  cfg.substitution_near_prob = 1.0;
  cfg.substitution_radius = 3;
  InjectionResult r = inject(w.clean, cfg, 4, w.context());
  int64_t n = 0, same_cluster = 0;
  for (int64_t i = 0; i < r.data.num_events(); ++i) {
    if (r.data.label[size_t(i)] != kLabelSubstitution) continue;
    int32_t a = r.data.item[size_t(i)], b = w.clean.item[size_t(r.source_event[size_t(i)])];
    EXPECT_LE(std::abs(a - b), 3);
    EXPECT_NE(a, b);
    same_cluster += w.sim.item_cluster()[size_t(a)] == w.sim.item_cluster()[size_t(b)];
    ++n;
  }
  expect_rate(n, 0.2, w.clean.num_events(), "substitutions");
  EXPECT_GT(double(same_cluster) / double(n), 0.95);  // clusters own 100 contiguous ids
}

TEST(InjectorTest, BadConfigIsRejected) {
  World w(20);
  InjectionConfig cfg;
  cfg.burst_min = 5;
  cfg.burst_max = 2;
  EXPECT_THROW(inject(w.clean, cfg, 1, w.context()), Error);
  cfg = InjectionConfig();
  cfg.bot_mix = {1.0, 2.0};
  EXPECT_THROW(inject(w.clean, cfg, 1, w.context()), Error);
  InjectionContext ctx = w.context();
  ctx.item_cluster.pop_back();
  EXPECT_THROW(inject(w.clean, InjectionConfig(), 1, ctx), Error);
}

}  // namespace
}  // namespace seqmend
