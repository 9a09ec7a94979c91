// mode: edit of the injectors: keep / delete / insert per event with cascades (io/edit_corruption.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include "core/base/error.h"
#include "io/injectors.h"

namespace seqmend {
namespace {

// `users` sequences of `len` distinct items from 1..pool (so 1..pool holds every user's items and
// pool+1..V are outside all of them), increasing timestamps with a session break every 20 events.
SequenceSet long_sequences(int64_t users, int64_t len, int32_t pool, uint64_t seed = 5) {
  SequenceSet s;
  Rng rng(seed, 0);
  for (int64_t u = 0; u < users; ++u) {
    std::vector<int32_t> items(static_cast<size_t>(pool));
    for (int32_t i = 0; i < pool; ++i) items[size_t(i)] = i + 1;
    for (int64_t i = 0; i < len; ++i) std::swap(items[size_t(i)], items[size_t(i + int64_t(rng.below(uint64_t(pool - i))))]);
    int64_t t = 1000000;
    for (int64_t i = 0; i < len; ++i) {
      t += i % 20 == 0 ? 86400 : 30 + int64_t(rng.below(60));
      s.item.push_back(items[size_t(i)]);
      s.timestamp.push_back(t);
      s.action.push_back(int8_t(i % 3 == 0 ? 1 : 0));
    }
    s.offsets.push_back(int64_t(s.item.size()));
    s.user.push_back(u);
  }
  return s;
}

InjectionConfig edit_config() {
  InjectionConfig c;
  c.mode = "edit";
  c.bot_rate = 0;
  c.protect_last = 2;
  c.noise_items = "uniform";
  return c;  // edit defaults: delete 0.1, insert 0.1, cascades 0.3, runs up to 3
}

// |observed − mean| within 5 standard deviations of a count whose variance is at most `var`.
void expect_count(double observed, double mean, double var, const char* what) {
  EXPECT_NEAR(observed, mean, 5 * std::sqrt(var) + 1) << what;
}

TEST(EditCorruption, RatesAndCascadesMatchTheirExpectation) {
  const int64_t users = 400, len = 250, V = 2000;
  SequenceSet clean = long_sequences(users, len, 600);
  InjectionConfig cfg = edit_config();
  InjectionContext ctx;
  ctx.num_items = V;
  InjectionResult r = Injector(clean, cfg, ctx).run(17);
  const SequenceSet& o = r.data;
  ASSERT_NO_THROW(o.validate(V));

  int64_t inserted = 0;
  std::array<int64_t, 5> insert_runs{};  // by length 1..4+
  for (int64_t s = 0; s < o.num_sequences(); ++s) {
    int64_t run = 0;
    for (int64_t i = o.offsets[size_t(s)]; i <= o.offsets[size_t(s) + 1]; ++i) {
      bool noise = i < o.offsets[size_t(s) + 1] && o.label[size_t(i)] == kLabelNoiseClick;
      if (noise) {
        ++run, ++inserted;
      } else if (run > 0) {
        ++insert_runs[size_t(std::min<int64_t>(run, 4))];
        run = 0;
      }
    }
  }
  // Ops are drawn over the events before the protected tail (a deletion cascade consumes events).
  const double events = double(users) * double(len - cfg.protect_last);
  const auto& ed = cfg.edit;
  const double per_op = 1 - ed.delete_prob + ed.delete_prob * ed.expected_delete_run();
  expect_count(double(inserted), ed.inserted_per_event() * events, events * 9 / per_op * ed.insert_prob, "inserted");
  expect_count(double(r.dropped_item.size()), ed.deleted_per_event() * events, events * 9 / per_op * ed.delete_prob,
               "deleted");
  // Insertions never merge (the event they precede is kept): run lengths are the cascade's
  // truncated geometric law, 0.7 / 0.21 / 0.09 with cascade 0.3 and cap 3.
  const double runs = double(insert_runs[1] + insert_runs[2] + insert_runs[3] + insert_runs[4]);
  EXPECT_EQ(insert_runs[4], 0) << "an insertion ran past max_insert_run";
  const double c = ed.insert_cascade;
  for (int k = 1; k <= 3; ++k) {
    double p = k < 3 ? std::pow(c, k - 1) * (1 - c) : c * c;
    expect_count(double(insert_runs[size_t(k)]), p * runs, p * (1 - p) * runs, "insert run length");
  }
  EXPECT_EQ(r.label_events[kLabelNoiseClick], inserted);
}

TEST(EditCorruption, ACertainCascadeDeletesWholeRuns) {
  // Cascade probability 1 and cap 3: every deleted run is 3 events long, or several runs back to back.
  SequenceSet clean = long_sequences(200, 120, 400);
  InjectionConfig cfg = edit_config();
  cfg.edit.insert_prob = 0;
  cfg.edit.delete_prob = 0.05;
  cfg.edit.delete_cascade = 1.0;
  InjectionResult r = Injector(clean, cfg).run(3);
  int64_t gaps = 0;
  for (int64_t s = 0; s < r.data.num_sequences(); ++s)
    for (int64_t d = r.dropped_offsets[size_t(s)]; d < r.dropped_offsets[size_t(s) + 1];) {
      int64_t end = d;
      while (end < r.dropped_offsets[size_t(s) + 1] && r.dropped_before[size_t(end)] == r.dropped_before[size_t(d)]) ++end;
      // Runs that reach the protected tail are cut short there.
      const int64_t src = r.source_event[size_t(r.dropped_before[size_t(d)])];
      if (src < clean.offsets[size_t(s) + 1] - cfg.protect_last) {
        EXPECT_EQ((end - d) % 3, 0) << "user " << s;
      }
      ++gaps;
      d = end;
    }
  EXPECT_GT(gaps, 500);
}

TEST(EditCorruption, InsertionsComeFromOutsideTheSequenceAndEverythingElseIsRecoverable) {
  const int64_t V = 1000;
  const int32_t pool = 300;  // every user's items lie in 1..300
  SequenceSet clean = long_sequences(300, 80, pool);
  InjectionConfig cfg = edit_config();
  InjectionContext ctx;
  ctx.num_items = V;
  InjectionResult r = Injector(clean, cfg, ctx).run(9);
  const SequenceSet& o = r.data;
  int64_t noise = 0, gaps = 0, beyond_pool = 0;
  for (int64_t s = 0; s < o.num_sequences(); ++s) {
    const int64_t src = r.source_sequence[size_t(s)];
    ASSERT_EQ(src, s);
    const int64_t cb = clean.offsets[size_t(s)], ce = clean.offsets[size_t(s) + 1];
    const std::set<int32_t> mine(clean.item.begin() + cb, clean.item.begin() + ce);
    // Rebuild the clean sequence: copied events in order, each gap's deleted items before its event.
    std::vector<int32_t> rebuilt;
    int64_t d = r.dropped_offsets[size_t(s)];
    for (int64_t i = o.offsets[size_t(s)]; i < o.offsets[size_t(s) + 1]; ++i) {
      if (i > o.offsets[size_t(s)]) {
        ASSERT_GE(o.timestamp[size_t(i)], o.timestamp[size_t(i - 1)]);
      }
      const int64_t e = r.source_event[size_t(i)];
      if (e < 0) {
        ASSERT_EQ(o.label[size_t(i)], kLabelNoiseClick);
        ASSERT_EQ(mine.count(o.item[size_t(i)]), 0u) << "noise item from the user's own sequence";
        beyond_pool += o.item[size_t(i)] > pool, ++noise;
        continue;
      }
      bool gap = false;
      for (; d < r.dropped_offsets[size_t(s) + 1] && r.dropped_before[size_t(d)] == i; ++d, gap = true)
        rebuilt.push_back(r.dropped_item[size_t(d)]);
      ASSERT_EQ(o.label[size_t(i)], gap ? kLabelGapAfter : kLabelClean);
      gaps += gap;
      ASSERT_EQ(o.item[size_t(i)], clean.item[size_t(e)]);
      ASSERT_EQ(o.timestamp[size_t(i)], clean.timestamp[size_t(e)]);
      rebuilt.push_back(o.item[size_t(i)]);
    }
    ASSERT_EQ(rebuilt, std::vector<int32_t>(clean.item.begin() + cb, clean.item.begin() + ce)) << "user " << s;
    // The protected tail: the last two events, copied, nothing inserted before or between them.
    const int64_t oe = o.offsets[size_t(s) + 1];
    for (int64_t k = 1; k <= 3; ++k) ASSERT_GE(r.source_event[size_t(oe - k)], 0) << "user " << s;
    ASSERT_EQ(r.source_event[size_t(oe - 1)], ce - 1);
    ASSERT_EQ(r.source_event[size_t(oe - 2)], ce - 2);
  }
  EXPECT_GT(noise, 1000);
  EXPECT_GT(gaps, 1000);
  // Uniform over the 920 items outside a user's 80: 700 of them lie beyond the pool.
  const double p = 700.0 / 920.0;
  expect_count(double(beyond_pool), p * double(noise), p * (1 - p) * double(noise), "uniform noise items");
  EXPECT_EQ(r.label_events[kLabelGapAfter], gaps);
}

// Inserted items and how many of them are item 401, a runaway favourite outside every user's items:
// nearly every popularity draw, 1 in the 400 items outside a user's 100 for a uniform one.
std::pair<int64_t, int64_t> inserted_and_favourite(const std::string& noise_items) {
  const int64_t V = 500;
  SequenceSet clean = long_sequences(200, 40, 100);
  InjectionConfig cfg = edit_config();
  cfg.noise_items = noise_items;
  InjectionContext ctx;
  ctx.num_items = V;
  ctx.item_counts.assign(size_t(V), 1);
  ctx.item_counts[400] = 100000;
  InjectionResult r = Injector(clean, cfg, ctx).run(4);
  int64_t noise = 0, favourite = 0;
  for (size_t i = 0; i < r.data.item.size(); ++i)
    if (r.data.label[i] == kLabelNoiseClick) ++noise, favourite += r.data.item[i] == 401;
  return {noise, favourite};
}

TEST(EditCorruption, PopularityDrawnInsertionsFollowTheCounts) {
  auto [noise, favourite] = inserted_and_favourite("popularity");
  ASSERT_GT(noise, 300);
  EXPECT_GT(double(favourite) / double(noise), 0.9);
}

TEST(EditCorruption, MixedInsertionsDrawHalfUniformlyAndHalfByPopularity) {
  auto [noise, favourite] = inserted_and_favourite("mixed");
  ASSERT_GT(noise, 300);
  // Half the items come from each source: the favourite's share is 0.5 × (≈1) + 0.5 × (1/400).
  const double p = 0.5 * (100000.0 / 100500.0) + 0.5 / 400.0;
  expect_count(double(favourite), p * double(noise), p * (1 - p) * double(noise), "mixed noise items");
}

TEST(EditCorruption, SameForAnyThreadCountAndBatch) {
  SequenceSet clean = long_sequences(500, 30, 200);
  InjectionConfig cfg = edit_config();
  Injector inj(clean, cfg);
  InjectionResult a = inj.run(21, 1), b = inj.run(21, 4);
  EXPECT_EQ(a.data.item, b.data.item);
  EXPECT_EQ(a.data.label, b.data.label);
  EXPECT_EQ(a.data.timestamp, b.data.timestamp);
  EXPECT_EQ(a.dropped_item, b.dropped_item);
  InjectionResult c = inj.run(22, 1);
  EXPECT_NE(a.data.item, c.data.item);
}

TEST(EditCorruption, BadProbabilitiesAreRejected) {
  SequenceSet clean = long_sequences(10, 10, 50);
  InjectionConfig cfg = edit_config();
  cfg.edit.delete_prob = 0.6;
  cfg.edit.insert_prob = 0.5;
  EXPECT_THROW(Injector(clean, cfg), Error);
  cfg = edit_config();
  cfg.mode = "edits";
  EXPECT_THROW(Injector(clean, cfg), Error);
}

TEST(EditCorruption, UnknownNoiseItemsAreRejectedByName) {
  SequenceSet clean = long_sequences(10, 10, 50);
  InjectionConfig cfg = edit_config();
  cfg.noise_items = "popular";
  try {
    Injector inj(clean, cfg);
    FAIL() << "noise_items 'popular' was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("noise_items must be popularity, uniform or mixed, got 'popular'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace seqmend
