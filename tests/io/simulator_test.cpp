#include "io/simulator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>

#include "core/base/error.h"

namespace seqmend {
namespace {

SimulatorConfig small_config() {
  SimulatorConfig c;
  c.num_users = 400;
  c.num_items = 1000;
  c.num_clusters = 10;
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

// Least-squares slope of y on x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = std::accumulate(x.begin(), x.end(), 0.0) / double(x.size());
  double my = std::accumulate(y.begin(), y.end(), 0.0) / double(y.size());
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxy / sxx;
}

TEST(SimulatorTest, OutputIsValidAndClean) {
  Simulator sim(small_config());
  SequenceSet s = sim.generate(1);
  ASSERT_EQ(s.num_sequences(), 400);
  EXPECT_NO_THROW(s.validate(1000));
  ASSERT_TRUE(s.has_timestamps() && s.has_actions() && s.has_labels());
  EXPECT_TRUE(std::all_of(s.label.begin(), s.label.end(), [](int8_t l) { return l == kLabelClean; }));
  EXPECT_TRUE(std::all_of(s.seq_label.begin(), s.seq_label.end(), [](int8_t l) { return l == kLabelClean; }));
  for (int64_t u = 0; u < s.num_sequences(); ++u) {
    EXPECT_EQ(s.user[size_t(u)], u);
    EXPECT_GE(s.length(u), 10);
    EXPECT_LE(s.length(u), 300);
  }
}

TEST(SimulatorTest, DeterministicForSeedAndThreadCount) {
  SimulatorConfig c = small_config();
  SequenceSet a = Simulator(c).generate(1);
  SequenceSet b = Simulator(c).generate(3);
  expect_same(a, b);
  // Any user range is the corresponding slice of the whole set.
  SequenceSet part = Simulator(c).generate(100, 150);
  ASSERT_EQ(part.num_sequences(), 50);
  int64_t e0 = a.offsets[100];
  for (int64_t i = 0; i < part.num_events(); ++i) {
    ASSERT_EQ(part.item[size_t(i)], a.item[size_t(e0 + i)]);
    ASSERT_EQ(part.timestamp[size_t(i)], a.timestamp[size_t(e0 + i)]);
  }
  c.seed = 2;
  SequenceSet d = Simulator(c).generate(2);
  EXPECT_NE(a.item, d.item);
  EXPECT_NE(a.timestamp, d.timestamp);
}

TEST(SimulatorTest, PopularityFollowsZipfInsideClusters) {
  for (double markov : {0.0, 0.7}) {
    SimulatorConfig c = small_config();
    c.num_users = 2000;
    c.markov_prob = markov;
    c.zipf_exponent = 1.0;
    Simulator sim(c);
    SequenceSet s = sim.generate(2);
    std::vector<int64_t> count(size_t(c.num_items) + 1, 0);
    for (int32_t it : s.item) ++count[size_t(it)];
    std::vector<double> pop = sim.item_popularity();
    // The two most popular clusters, items ordered by their true popularity: log count against
    // log rank over the top 30 ranks should have slope ≈ -zipf_exponent.
    for (int k = 0; k < 2; ++k) {
      std::vector<int32_t> ids;
      for (int32_t id = sim.cluster_begin()[size_t(k)]; id < sim.cluster_begin()[size_t(k) + 1]; ++id) ids.push_back(id);
      std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return pop[size_t(a)] > pop[size_t(b)]; });
      std::vector<double> x, y;
      for (int r = 0; r < 30; ++r) {
        x.push_back(std::log(double(r + 1)));
        y.push_back(std::log(double(count[size_t(ids[size_t(r)])] + 1)));
      }
      double sl = slope(x, y);
      EXPECT_NEAR(sl, -1.0, markov == 0.0 ? 0.15 : 0.35) << "cluster " << k << " markov_prob " << markov;
    }
    // Across clusters: cluster 0 (most popular) gets more events than the last cluster.
    std::vector<int64_t> per_cluster(size_t(c.num_clusters), 0);
    for (int32_t it : s.item) ++per_cluster[size_t(sim.item_cluster()[size_t(it)])];
    EXPECT_GT(per_cluster[0], 2 * per_cluster.back());
  }
}

TEST(SimulatorTest, FunnelRatesMatchConfig) {
  SimulatorConfig c = small_config();
  c.num_users = 1500;
  Simulator sim(c);
  SequenceSet s = sim.generate(2);
  std::map<int, int64_t> n;
  for (int64_t u = 0; u < s.num_sequences(); ++u) {
    for (int64_t i = s.offsets[size_t(u)]; i < s.offsets[size_t(u) + 1]; ++i) {
      int a = s.action[size_t(i)];
      ++n[a];
      // In "separate" mode every later stage follows the previous stage of the same item.
      if (a > kActionView) {
        ASSERT_GT(i, s.offsets[size_t(u)]);
        ASSERT_EQ(s.action[size_t(i - 1)], a - 1);
        ASSERT_EQ(s.item[size_t(i - 1)], s.item[size_t(i)]);
      }
    }
  }
  ASSERT_GT(n[kActionView], 50000);
  EXPECT_NEAR(double(n[kActionClick]) / double(n[kActionView]), c.click_prob, 0.01);
  EXPECT_NEAR(double(n[kActionCart]) / double(n[kActionClick]), c.cart_prob, 0.02);
  EXPECT_NEAR(double(n[kActionBuy]) / double(n[kActionCart]), c.buy_prob, 0.05);
  EXPECT_EQ(n.size(), 4u);  // view, click, cart, buy only

  c.funnel_events = "deepest";
  SequenceSet d = Simulator(c).generate(2);
  std::map<int, int64_t> m;
  for (int8_t a : d.action) ++m[a];
  double total = double(d.num_events());
  double clicked = double(m[kActionClick] + m[kActionCart] + m[kActionBuy]);
  EXPECT_NEAR(clicked / total, c.click_prob, 0.01);
  EXPECT_NEAR(double(m[kActionBuy]) / double(m[kActionCart] + m[kActionBuy]), c.buy_prob, 0.05);
}

TEST(SimulatorTest, TimestampsFormSessions) {
  SimulatorConfig c = small_config();
  Simulator sim(c);
  SequenceSet s = sim.generate(2);
  std::vector<double> in_session, between;
  int64_t sessions = 0, steps = 0;
  for (int64_t u = 0; u < s.num_sequences(); ++u) {
    int64_t b = s.offsets[size_t(u)], e = s.offsets[size_t(u) + 1];
    EXPECT_GE(s.timestamp[size_t(b)], c.start_time);
    EXPECT_LE(s.timestamp[size_t(b)], c.start_time + int64_t(c.start_span_days * 86400) + 1);
    ++sessions;
    for (int64_t i = b + 1; i < e; ++i) {
      int64_t gap = s.timestamp[size_t(i)] - s.timestamp[size_t(i - 1)];
      ASSERT_GE(gap, 0) << "user " << u << " event " << i;
      if (gap > 3600) {
        between.push_back(double(gap));
        ++sessions;
      } else {
        in_session.push_back(double(gap));
      }
      if (s.action[size_t(i)] == kActionView) ++steps;
    }
    if (s.action[size_t(b)] == kActionView) ++steps;
  }
  auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + ptrdiff_t(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  // In-session gaps mix item steps (median 40 s) and funnel follow-ups (median 8 s).
  double m_in = median(in_session);
  EXPECT_GT(m_in, 10.0);
  EXPECT_LT(m_in, 60.0);
  // Session gaps: median 20 h (slightly more, since gaps under an hour are counted as in-session).
  double m_between = median(between) / 3600.0;
  EXPECT_GT(m_between, 15.0);
  EXPECT_LT(m_between, 30.0);
  // Mean item steps per session ≈ session_mean_items (the last session of each user is truncated).
  double per_session = double(steps) / double(sessions);
  EXPECT_GT(per_session, 0.75 * c.session_mean_items);
  EXPECT_LT(per_session, 1.15 * c.session_mean_items);
}

TEST(SimulatorTest, LengthsFollowConfig) {
  SimulatorConfig c = small_config();
  c.num_users = 2000;
  SequenceSet s = Simulator(c).generate(2);
  std::vector<int64_t> len;
  for (int64_t u = 0; u < s.num_sequences(); ++u) len.push_back(s.length(u));
  std::sort(len.begin(), len.end());
  EXPECT_NEAR(double(len[len.size() / 2]), c.length_median, 0.1 * c.length_median);
  EXPECT_EQ(len.front(), c.length_min);  // sigma 0.8 puts ~1 % below the minimum: clipped
  c.length_distribution = "uniform";
  c.length_min = 5;
  c.length_max = 9;
  SequenceSet v = Simulator(c).generate(2);
  std::set<int64_t> seen;
  for (int64_t u = 0; u < v.num_sequences(); ++u) seen.insert(v.length(u));
  EXPECT_EQ(seen, (std::set<int64_t>{5, 6, 7, 8, 9}));
}

// Next-item prediction must be learnable well above popularity: a bigram table counted on the
// first half of the users beats the most-popular list on the second half by a wide margin.
TEST(SimulatorTest, NextItemIsPredictableBeyondPopularity) {
  SimulatorConfig c = small_config();
  c.num_users = 2000;
  c.funnel_events = "deepest";  // one event per item, so the next item is never a funnel repeat
  SequenceSet s = Simulator(c).generate(2);
  int64_t half = s.num_sequences() / 2;
  std::vector<int64_t> count(size_t(c.num_items) + 1, 0);
  std::unordered_map<int64_t, std::unordered_map<int32_t, int64_t>> bigram;
  for (int64_t u = 0; u < half; ++u)
    for (int64_t i = s.offsets[size_t(u)]; i < s.offsets[size_t(u) + 1]; ++i) {
      ++count[size_t(s.item[size_t(i)])];
      if (i > s.offsets[size_t(u)]) ++bigram[s.item[size_t(i - 1)]][s.item[size_t(i)]];
    }
  std::vector<int32_t> top(size_t(c.num_items));
  std::iota(top.begin(), top.end(), 1);
  std::partial_sort(top.begin(), top.begin() + 10, top.end(),
                    [&](int32_t a, int32_t b) { return count[size_t(a)] > count[size_t(b)]; });
  std::set<int32_t> top10(top.begin(), top.begin() + 10);
  int64_t n = 0, hit_pop = 0, hit_bigram = 0;
  for (int64_t u = half; u < s.num_sequences(); ++u)
    for (int64_t i = s.offsets[size_t(u)] + 1; i < s.offsets[size_t(u) + 1]; ++i) {
      int32_t prev = s.item[size_t(i - 1)], next = s.item[size_t(i)];
      ++n;
      hit_pop += top10.count(next);
      std::vector<std::pair<int64_t, int32_t>> cand;
      for (auto& [it, k] : bigram[prev]) cand.emplace_back(-k, it);
      std::sort(cand.begin(), cand.end());
      for (size_t j = 0; j < std::min<size_t>(10, cand.size()); ++j) hit_bigram += cand[j].second == next;
    }
  double pop = double(hit_pop) / double(n), big = double(hit_bigram) / double(n);
  EXPECT_GT(big, 3.0 * pop) << "bigram HR@10 " << big << " vs popularity HR@10 " << pop;
  EXPECT_GT(big, 0.3);
}

// Mean total-variation distance between the cluster histograms of the first and last quarter of
// each long sequence.
double interest_shift(const Simulator& sim, const SequenceSet& s) {
  double sum = 0;
  int64_t users = 0;
  for (int64_t u = 0; u < s.num_sequences(); ++u) {
    int64_t b = s.offsets[size_t(u)], n = s.length(u);
    if (n < 120) continue;
    std::vector<double> h0(size_t(sim.num_clusters()), 0), h1 = h0;
    int64_t q = n / 4;
    for (int64_t i = 0; i < q; ++i) {
      h0[size_t(sim.item_cluster()[size_t(s.item[size_t(b + i)])])] += 1.0 / double(q);
      h1[size_t(sim.item_cluster()[size_t(s.item[size_t(b + n - 1 - i)])])] += 1.0 / double(q);
    }
    double tv = 0;
    for (size_t k = 0; k < h0.size(); ++k) tv += 0.5 * std::abs(h0[k] - h1[k]);
    sum += tv;
    ++users;
  }
  return sum / double(users);
}

TEST(SimulatorTest, InterestsAreSparseAndDrift) {
  SimulatorConfig c = small_config();
  c.num_users = 800;
  c.num_clusters = 40;
  c.num_items = 2000;
  Simulator drifting(c);
  SequenceSet s = drifting.generate(2);
  double shift = interest_shift(drifting, s);
  c.drift_rate = 0.0;
  Simulator fixed(c);
  double base = interest_shift(fixed, fixed.generate(2));
  EXPECT_GT(shift, base + 0.1) << "drift " << shift << " vs none " << base;
  // Sparse: a user touches a handful of the 40 clusters.
  double clusters = 0;
  for (int64_t u = 0; u < s.num_sequences(); ++u) {
    std::set<int32_t> ks;
    for (int64_t i = s.offsets[size_t(u)]; i < s.offsets[size_t(u) + 1]; ++i)
      ks.insert(drifting.item_cluster()[size_t(s.item[size_t(i)])]);
    clusters += double(ks.size());
  }
  EXPECT_LT(clusters / double(s.num_sequences()), 8.0);
}

TEST(SimulatorTest, OptionalColumnsCanBeOff) {
  SimulatorConfig c = small_config();
  c.num_users = 20;
  c.timestamps = false;
  c.actions = false;
  SequenceSet s = Simulator(c).generate(1);
  EXPECT_FALSE(s.has_timestamps());
  EXPECT_FALSE(s.has_actions());
  EXPECT_TRUE(s.has_labels());
  EXPECT_NO_THROW(s.validate(c.num_items));
}

TEST(SimulatorTest, BadConfigIsRejectedWithTheKey) {
  SimulatorConfig c = small_config();
  c.length_min = 50;
  c.length_max = 10;
  try {
    Simulator sim(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("length_min"), std::string::npos) << e.what();
  }
  c = small_config();
  c.num_clusters = 5000;
  EXPECT_THROW(Simulator{c}, Error);
}

}  // namespace
}  // namespace seqmend
