// Next-item evaluation: metric formulas against hand-computed cases, tie handling, history
// exclusion, negative sampling, chunking invariance, and a model whose item table makes every
// target's rank known in advance.
#include "experiments/eval/rec_eval.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "core/base/error.h"
#include "core/batch.h"
#include "core/model.h"
#include "experiments/eval/negative_sampler.h"
#include "experiments/eval/rank_metrics.h"
#include "io/config.h"
#include "io/shard_set.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

// ---- metrics ---------------------------------------------------------------------------------

TEST(RankMetrics, HandComputedRanks) {
  RankHistogram h(20);
  for (int64_t r : {0, 3, 12}) h.add(r);
  const nlohmann::json m = rank_metrics(h, {1, 5, 10, 20});
  EXPECT_EQ(m["num_users"], 3);
  EXPECT_DOUBLE_EQ(m["hr@1"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m["hr@5"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m["hr@10"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m["hr@20"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m["ndcg@1"].get<double>(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(m["ndcg@5"].get<double>(), (1.0 + 1.0 / std::log2(5.0)) / 3);
  EXPECT_DOUBLE_EQ(m["ndcg@10"].get<double>(), (1.0 + 1.0 / std::log2(5.0)) / 3);
  EXPECT_DOUBLE_EQ(m["ndcg@20"].get<double>(), (1.0 + 1.0 / std::log2(5.0) + 1.0 / std::log2(14.0)) / 3);
  EXPECT_DOUBLE_EQ(m["mrr"].get<double>(), (1.0 + 1.0 / 4 + 1.0 / 13) / 3);
}

TEST(RankMetrics, NoUsersGivesZerosAndBadInputThrows) {
  RankHistogram h(5);
  const nlohmann::json m = rank_metrics(h, {10});
  EXPECT_EQ(m["num_users"], 0);
  EXPECT_EQ(m["hr@10"].get<double>(), 0.0);
  EXPECT_EQ(m["mrr"].get<double>(), 0.0);
  EXPECT_THROW(h.add(6), Error);
  EXPECT_THROW(h.add(-1), Error);
  EXPECT_THROW(rank_metrics(h, {0}), Error);
  EXPECT_THROW(RankHistogram(-1), Error);
}

// ---- negative sampling -----------------------------------------------------------------------

TEST(NegativeSampler, DistinctOutsideExcludedAndDeterministicPerUser) {
  const int64_t V = 500;
  NegativeSampler uniform(V);
  const std::vector<int32_t> excluded = {1, 2, 3, 50, 499, 500};
  std::map<int32_t, int> seen;
  for (int64_t user = 0; user < 50; ++user) {
    const auto neg = uniform.draw(7, user, 100, excluded);
    ASSERT_EQ(neg.size(), 100u);
    std::set<int32_t> distinct(neg.begin(), neg.end());
    EXPECT_EQ(distinct.size(), 100u) << "user " << user;
    for (int32_t i : neg) {
      EXPECT_TRUE(i >= 1 && i <= V);
      EXPECT_FALSE(std::binary_search(excluded.begin(), excluded.end(), i)) << i;
      ++seen[i];
    }
    EXPECT_EQ(neg, uniform.draw(7, user, 100, excluded)) << "same (seed, user): same draws";
  }
  EXPECT_NE(uniform.draw(7, 0, 100, excluded), uniform.draw(8, 0, 100, excluded));
  EXPECT_NE(uniform.draw(7, 0, 100, excluded), uniform.draw(7, 1, 100, excluded));
  EXPECT_GT(seen.size(), 450u) << "50 users × 100 uniform draws should touch nearly every item";
}

TEST(NegativeSampler, PopularityFollowsCountsAndNeverDrawsUnseenItems) {
  const int64_t V = 200;
  std::vector<int64_t> counts(size_t(V), 1);
  counts[9] = 100000;  // item 10 holds nearly all the mass
  for (int64_t i = 100; i < V; ++i) counts[size_t(i)] = 0;  // items 101..200 never in train
  NegativeSampler pop(V, &counts);
  int with10 = 0;
  for (int64_t user = 0; user < 100; ++user) {
    const auto neg = pop.draw(1, user, 20, {});
    ASSERT_EQ(neg.size(), 20u);
    for (int32_t i : neg) EXPECT_LE(i, 100) << "item " << i << " has count 0";
    with10 += std::count(neg.begin(), neg.end(), 10) > 0;
  }
  EXPECT_EQ(with10, 100);
  // Excluding the heavy item leaves the rejection loop almost nothing but rejections: the exact
  // fallback must still return distinct, eligible, non-excluded items.
  std::vector<int64_t> skew(size_t(V), 0);
  skew[0] = int64_t(1) << 40;
  for (int64_t i = 1; i < 60; ++i) skew[size_t(i)] = 1;
  NegativeSampler heavy(V, &skew);
  const auto neg = heavy.draw(3, 5, 30, {1});
  ASSERT_EQ(neg.size(), 30u);
  std::set<int32_t> distinct(neg.begin(), neg.end());
  EXPECT_EQ(distinct.size(), 30u);
  for (int32_t i : neg) EXPECT_TRUE(i >= 2 && i <= 60) << i;
  EXPECT_EQ(neg, heavy.draw(3, 5, 30, {1}));
}

TEST(NegativeSampler, FewEligibleItemsGivesAllOfThem) {
  NegativeSampler uniform(10);
  EXPECT_EQ(uniform.draw(0, 0, 100, {1, 2, 3, 4, 5, 6, 7}), (std::vector<int32_t>{8, 9, 10}));
  EXPECT_THROW(uniform.draw(0, 0, 5, {11}), Error);
  std::vector<int64_t> zeros(10, 0);
  EXPECT_THROW(NegativeSampler(10, &zeros), Error);
}

// ---- config ----------------------------------------------------------------------------------

TEST(EvalConfig, ReadsYamlAndRejectsBadValues) {
  const test::TempDir tmp("seqmend_evalcfg");
  const std::string path = tmp / "eval.yaml";
  std::ofstream(path) << "protocol: sampled\nsampling: popularity\nnegatives: 50\nks: [1, 10]\n";
  const EvalConfig c = load_config<EvalConfig>(path, {"split=test"});
  EXPECT_EQ(c.protocol, "sampled");
  EXPECT_EQ(c.sampling, "popularity");
  EXPECT_EQ(c.negatives, 50);
  EXPECT_EQ(c.ks, (std::vector<int64_t>{1, 10}));
  EXPECT_EQ(c.split, "test");
  EXPECT_FALSE(c.exclude_history);
  EXPECT_THROW(load_config<EvalConfig>(path, {"protocol=ful"}), Error);
  EXPECT_THROW(load_config<EvalConfig>(path, {"negatives=0"}), Error);
  EvalConfig bad;
  bad.ks = {};
  EXPECT_THROW(bad.validate(), Error);
}

// ---- with a model ----------------------------------------------------------------------------

ModelConfig tiny_model(int64_t V) {
  ModelConfig c;
  c.num_items = V;
  c.max_len = 8;
  c.d_model = 16;
  c.num_layers = 1;
  c.num_heads = 2;
  c.seed = 5;
  return c;
}

SequenceSet sequences(const std::vector<std::pair<int64_t, std::vector<int32_t>>>& users) {
  SequenceSet s;
  for (const auto& [user, items] : users) s.append(user, items.data(), int64_t(items.size()));
  return s;
}

float* table_row(ItemTransformer& m, int64_t item) {
  return m.params().param_ptr("emb.item") + item * m.config().d_model;
}
float& bias_of(ItemTransformer& m, int64_t item) { return m.params().param_ptr("out.bias")[item]; }

// Scores are set so every rank is known without looking at hidden states: items that appear in
// some input keep their embedding rows (the hidden states depend on them) and get biases far above
// |hidden · row| (< 1 here); every other item gets a zero row, so its score is its bias.
//   user 0: input [1, 2, 3] → target 10;  user 1: input [4, 5, 7] → target 7 (in its own history)
//   biases: items 1..3: 5e3; item 4: 3e4, item 7: 2e4, item 5: 1e4; items 6, 8..20: their id,
//   except item 11 = 10 (ties item 10's score).
// User 0's target scores 10: above it items 12..20 (9), item 11 ties (pessimistic: counts),
// items 1..3 and 4, 5, 7 → rank 16; with its history excluded 13. User 1's target (≈ 2e4): only
// item 4 above → rank 1; excluded 0.
struct KnownRanks : testing::Test {
  static constexpr int64_t V = 20;
  ItemTransformer model{tiny_model(V)};
  std::vector<SequenceSet> data;

  void SetUp() override {
    const int C = model.config().d_model;
    data.push_back(sequences({{0, {1, 2, 3, 10}}, {1, {4, 5, 7, 7}}}));
    const std::set<int64_t> input = {1, 2, 3, 4, 5, 7};
    for (int64_t i = 1; i <= V; ++i) {
      if (!input.count(i)) std::fill(table_row(model, i), table_row(model, i) + C, 0.0f);
      bias_of(model, i) = float(i);
    }
    for (int64_t i : {1, 2, 3}) bias_of(model, i) = 5e3f;
    bias_of(model, 4) = 3e4f;
    bias_of(model, 7) = 2e4f;
    bias_of(model, 5) = 1e4f;
    bias_of(model, 11) = 10.0f;
  }

  std::vector<UserRank> ranks(EvalConfig cfg) { return RecEvaluator(data, V, cfg).rank_users(model); }
};

TEST_F(KnownRanks, FullRankingCountsTiesAgainstTheTarget) {
  EvalConfig cfg;
  const auto r = ranks(cfg);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].user, 0);
  EXPECT_EQ(r[0].rank, 16);
  EXPECT_EQ(r[1].user, 1);
  EXPECT_EQ(r[1].rank, 1);
  const nlohmann::json m = RecEvaluator(data, V, cfg).evaluate(model);
  EXPECT_EQ(m["num_users"], 2);
  EXPECT_DOUBLE_EQ(m["hr@1"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(m["hr@5"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["ndcg@5"].get<double>(), 0.5 / std::log2(3.0));
  EXPECT_DOUBLE_EQ(m["mrr"].get<double>(), (1.0 / 17 + 1.0 / 2) / 2);
  EXPECT_EQ(m["split"], "valid");
  EXPECT_EQ(m["protocol"]["name"], "full");
  EXPECT_EQ(m["protocol"]["exclude_history"], false);
  EXPECT_EQ(m["protocol"]["negatives"], 0);
}

TEST_F(KnownRanks, ExcludingHistoryRemovesOnlyTheUsersOwnItemsButNotTheTarget) {
  EvalConfig cfg;
  cfg.exclude_history = true;
  const auto r = ranks(cfg);
  EXPECT_EQ(r[0].rank, 13);
  EXPECT_EQ(r[1].rank, 0);
  EXPECT_EQ(RecEvaluator(data, V, cfg).protocol_json()["exclude_history"], true);
}

TEST_F(KnownRanks, SampledRankCountsTheNegativesScoringAtLeastTheTarget) {
  EvalConfig cfg;
  cfg.protocol = "sampled";
  cfg.negatives = 6;
  RecEvaluator ev(data, V, cfg);
  const auto r = ev.rank_users(model);
  // Scores of the candidates other than history items: the bias (items 11 and 10 tie).
  auto score_above_user0 = [](int32_t i) { return i >= 11; };  // ≥ 10; history 1..3 never drawn
  for (int64_t u = 0; u < 2; ++u) {
    const auto neg = ev.negatives_of(u);
    ASSERT_EQ(neg.size(), 6u);
    int64_t expect = 0;
    for (int32_t i : neg) {
      if (u == 0) {
        EXPECT_TRUE(i != 1 && i != 2 && i != 3 && i != 10) << "history/target drawn: " << i;
        expect += score_above_user0(i) || i == 4 || i == 5 || i == 7;
      } else {
        EXPECT_TRUE(i != 4 && i != 5 && i != 7) << "history/target drawn: " << i;
        expect += 0;  // nothing outside user 1's history scores ≥ 2e4
      }
    }
    EXPECT_EQ(r[size_t(u)].rank, expect) << "user " << u;
  }
  EXPECT_EQ(ev.protocol_json()["negatives"], 6);
  EXPECT_EQ(ev.protocol_json()["sampling"], "uniform");
}

TEST_F(KnownRanks, ConstantOrNaNScoresGiveTheWorstRank) {
  const int C = model.config().d_model;
  for (int64_t i = 0; i < model.config().table_rows(); ++i) {
    std::fill(table_row(model, i), table_row(model, i) + C, 0.0f);
    bias_of(model, i) = 0.0f;
  }
  EvalConfig cfg;
  for (const auto& u : ranks(cfg)) EXPECT_EQ(u.rank, V - 1);
  const nlohmann::json m = RecEvaluator(data, V, cfg).evaluate(model);
  EXPECT_EQ(m["hr@10"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(m["mrr"].get<double>(), 1.0 / V);
  cfg.exclude_history = true;  // user 0: 3 history items gone; user 1: 4 and 5 gone (7 is the target)
  const auto ex = ranks(cfg);
  EXPECT_EQ(ex[0].rank, V - 1 - 3);
  EXPECT_EQ(ex[1].rank, V - 1 - 2);
  EvalConfig sampled;
  sampled.protocol = "sampled";
  sampled.negatives = 5;
  for (const auto& u : ranks(sampled)) EXPECT_EQ(u.rank, 5);
  bias_of(model, 10) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(ranks(EvalConfig{})[0].rank, V - 1);
}

TEST_F(KnownRanks, RejectsAModelOfAnotherVocabulary) {
  ItemTransformer other(tiny_model(V + 1));
  EXPECT_THROW(RecEvaluator(data, V, EvalConfig{}).rank_users(other), Error);
}

// ---- random model: invariances ---------------------------------------------------------------

std::vector<SequenceSet> random_users(int64_t V, int64_t users, uint64_t seed, int shards) {
  std::vector<SequenceSet> out(static_cast<size_t>(shards));
  Rng rng(seed);
  for (int64_t u = 0; u < users; ++u) {
    const int64_t L = 1 + int64_t(rng.below(14));  // some longer than max_len, one-event users too
    std::vector<int32_t> items;
    for (int64_t i = 0; i < L; ++i) items.push_back(int32_t(1 + rng.below(uint64_t(V))));
    out[size_t(u * shards / users)].append(u, items.data(), L);
  }
  return out;
}

TEST(RecEval, RanksDoNotDependOnScoreChunking) {
  const int64_t V = 300;
  ItemTransformer model(tiny_model(V));
  const auto data = random_users(V, 90, 11, 3);
  for (bool exclude : {false, true}) {
    EvalConfig cfg;
    cfg.exclude_history = exclude;
    cfg.batch_size = 40;
    cfg.score_chunk_rows = 1;
    const auto one = RecEvaluator(data, V, cfg).rank_users(model);
    cfg.score_chunk_rows = 1000;
    const auto big = RecEvaluator(data, V, cfg).rank_users(model);
    cfg.score_chunk_rows = 7;
    const auto seven = RecEvaluator(data, V, cfg).rank_users(model);
    ASSERT_EQ(one.size(), 90u);
    for (size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(one[i].user, big[i].user);
      EXPECT_EQ(one[i].rank, big[i].rank) << "user " << one[i].user;
      EXPECT_EQ(one[i].rank, seven[i].rank) << "user " << one[i].user;
    }
  }
}

TEST(RecEval, NegativesDependOnlyOnSeedAndUser) {
  const int64_t V = 300;
  const auto data = random_users(V, 60, 12, 3);
  std::vector<SequenceSet> reversed(data.rbegin(), data.rend());
  EvalConfig cfg;
  cfg.protocol = "sampled";
  cfg.negatives = 50;
  RecEvaluator a(data, V, cfg), b(reversed, V, cfg);
  std::map<int64_t, std::vector<int32_t>> by_user;
  ItemTransformer model(tiny_model(V));
  const auto ra = a.rank_users(model), rb = b.rank_users(model);
  for (int64_t i = 0; i < a.num_local_users(); ++i) by_user[ra[size_t(i)].user] = a.negatives_of(i);
  std::map<int64_t, int64_t> rank_a;
  for (const auto& u : ra) rank_a[u.user] = u.rank;
  for (int64_t i = 0; i < b.num_local_users(); ++i) {
    EXPECT_EQ(b.negatives_of(i), by_user.at(rb[size_t(i)].user));
    EXPECT_EQ(rb[size_t(i)].rank, rank_a.at(rb[size_t(i)].user));
  }
  cfg.seed = 1;
  EXPECT_NE(RecEvaluator(data, V, cfg).negatives_of(0), a.negatives_of(0));
}

// Written to disk as a shard set: the evaluator reads a split, counts train items for popularity
// sampling, and splitting the shards over "ranks" by hand gives the same per-user ranks.
TEST(RecEval, ShardSetSplitOverRanksGivesTheSameRanks) {
  const int64_t V = 120;
  const test::TempDir tmp("seqmend_receval");
  const std::string tmpl = tmp.str();
  const auto full = random_users(V, 70, 13, 1)[0];
  SequenceSet train, valid;
  for (int64_t s = 0; s < full.num_sequences(); ++s) {
    const int64_t off = full.offsets[size_t(s)], L = full.length(s);
    valid.append(full.user[size_t(s)], full.item.data() + off, L);
    train.append(full.user[size_t(s)], full.item.data() + off, std::max<int64_t>(0, L - 1));
  }
  ManifestInfo info;
  info.num_items = V;
  ShardOptions opt;
  opt.max_sequences_per_shard = 9;
  opt.fsync = false;
  write_shard_set(tmpl + "/set", info, {{"train", train}, {"valid", valid}}, opt);
  const ShardSet set = ShardSet::open(tmpl + "/set");
  ASSERT_GT(set.split("valid").num_shards(), 3);

  ItemTransformer model(tiny_model(V));
  for (const char* sampling : {"none", "uniform", "popularity"}) {
    EvalConfig cfg;
    cfg.batch_size = 4;
    if (std::string(sampling) != "none") {
      cfg.protocol = "sampled";
      cfg.sampling = sampling;
      cfg.negatives = 30;
    }
    const auto whole = RecEvaluator(set, cfg).rank_users(model);
    EXPECT_EQ(int64_t(whole.size()), valid.num_sequences());
    std::map<int64_t, int64_t> split;
    for (int r = 0; r < 3; ++r)
      for (const auto& u : RecEvaluator(set, cfg, r, 3).rank_users(model)) split[u.user] = u.rank;
    ASSERT_EQ(split.size(), whole.size());
    for (const auto& u : whole) EXPECT_EQ(split.at(u.user), u.rank) << sampling << " user " << u.user;
  }
  // Popularity weights are the train split's counts.
  const auto counts = count_split_items(set, "train");
  std::vector<int64_t> expect(size_t(V), 0);
  for (int32_t i : train.item) ++expect[size_t(i) - 1];
  EXPECT_EQ(counts, expect);
}

}  // namespace
}  // namespace seqmend
