#include <gtest/gtest.h>

#include <map>

#include "core/base/rng.h"
#include "core/batch.h"

namespace seqmend {
namespace {

ModelConfig cfg_with(int64_t V, int T) {
  ModelConfig c;
  c.num_items = V;
  c.max_len = T;
  c.num_gap_buckets = 8;
  c.num_actions = 6;
  return c;
}

TEST(Batch, TimeGapBucketsAreLogScale) {
  EXPECT_EQ(time_gap_bucket(100, false, 32), 0);  // unknown
  EXPECT_EQ(time_gap_bucket(0, true, 32), 1);
  EXPECT_EQ(time_gap_bucket(-5, true, 32), 1);    // out of order
  EXPECT_EQ(time_gap_bucket(1, true, 32), 2);
  EXPECT_EQ(time_gap_bucket(2, true, 32), 3);
  EXPECT_EQ(time_gap_bucket(3, true, 32), 3);
  EXPECT_EQ(time_gap_bucket(4, true, 32), 4);
  EXPECT_EQ(time_gap_bucket(86400, true, 32), 2 + 16);  // 2^16 <= 86400 < 2^17
  EXPECT_EQ(time_gap_bucket(int64_t(1) << 40, true, 8), 7);  // capped
  EXPECT_EQ(time_gap_bucket(10, true, 1), 0);
}

TEST(Batch, PacksRightAlignedAndKeepsTheNewestEvents) {
  const ModelConfig cfg = cfg_with(20, 4);
  std::vector<int32_t> a{1, 2, 3, 4, 5, 6}, b{7}, e{};
  std::vector<int64_t> ta{0, 1, 3, 3, 100, 90};
  std::vector<int8_t> aa{1, 2, 3, 4, 5, 1};
  Batch bt = make_plain_batch({{a, ta, aa, 10}, {e, {}, {}, 11}, {b, {}, {}, 12}}, cfg);
  EXPECT_EQ(bt.B, 3);
  EXPECT_EQ(bt.N, 5);
  EXPECT_EQ(bt.cu_seqlens, (std::vector<int64_t>{0, 4, 4, 5}));
  EXPECT_EQ(bt.item, (std::vector<int32_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(bt.position, (std::vector<int32_t>{0, 1, 2, 3, 3}));
  EXPECT_EQ(bt.action, (std::vector<int32_t>{3, 4, 5, 1, 0}));
  // The first kept event's gap is still known (its predecessor was truncated, not absent).
  EXPECT_EQ(bt.gap, (std::vector<int32_t>{3, 1, 7, 1, 0}));  // 97 s would be bucket 8, capped at 7
  EXPECT_EQ(bt.token_keys[4], hash_combine(12, 3));
  EXPECT_EQ(bt.M(), 0);
  EXPECT_NO_THROW(bt.validate(cfg));
}

std::map<int64_t, std::vector<int32_t>> masked_positions(const Batch& b) {
  std::map<int64_t, std::vector<int32_t>> out;
  for (int64_t m = 0; m < b.M(); ++m) {
    int64_t row = b.target_rows[size_t(m)], s = 0;
    while (b.cu_seqlens[size_t(s) + 1] <= row) ++s;
    out[b.sample_id[size_t(s)]].push_back(b.position[size_t(row)]);
  }
  return out;
}

TEST(Batch, ClozeMaskDependsOnlyOnSeedEpochAndSample) {
  const ModelConfig cfg = cfg_with(50, 12);
  std::vector<std::vector<int32_t>> seqs;
  Rng r(1);
  for (int s = 0; s < 6; ++s) {
    seqs.emplace_back();
    for (int i = 0; i < 3 + 2 * s; ++i) seqs.back().push_back(int32_t(1 + r.below(50)));
  }
  std::vector<SequenceView> fwd, rev;
  for (int s = 0; s < 6; ++s) fwd.push_back({seqs[size_t(s)], {}, {}, 100 + s});
  for (int s = 5; s >= 0; --s) rev.push_back({seqs[size_t(s)], {}, {}, 100 + s});
  ClozeOptions co{0.3f, 9, 2};
  Batch a = make_cloze_batch(fwd, cfg, co), b = make_cloze_batch(rev, cfg, co);
  EXPECT_EQ(masked_positions(a), masked_positions(b));
  Batch alone = make_cloze_batch({fwd[3]}, cfg, co);
  EXPECT_EQ(masked_positions(alone)[103], masked_positions(a)[103]);
  co.epoch = 3;
  EXPECT_NE(masked_positions(make_cloze_batch(fwd, cfg, co)), masked_positions(a));
  // Masked inputs become the mask token; targets keep the original item.
  for (int64_t m = 0; m < a.M(); ++m) {
    EXPECT_EQ(a.item[size_t(a.target_rows[size_t(m)])], cfg.mask_token());
    EXPECT_GE(a.target_items[size_t(m)], 1);
  }
  EXPECT_NO_THROW(a.validate(cfg));
}

TEST(Batch, ClozeMaskRateAndAtLeastOneTargetPerSequence) {
  const ModelConfig cfg = cfg_with(100, 50);
  std::vector<int32_t> items(50, 7);
  std::vector<SequenceView> v;
  for (int s = 0; s < 400; ++s) v.push_back({items, {}, {}, s});
  Batch b = make_cloze_batch(v, cfg, {0.2f, 4, 0});
  const double rate = double(b.M()) / double(b.N);
  EXPECT_NEAR(rate, 0.2, 0.01);
  Batch none = make_cloze_batch(v, cfg, {0.0f, 4, 0});
  EXPECT_EQ(none.M(), 400);  // exactly the forced one per sequence
  for (int64_t m = 0; m < none.M(); ++m) EXPECT_EQ(none.target_rows[size_t(m)] / 50, m);
}

TEST(Batch, NextItemAppendsAMaskAtTheEnd) {
  const ModelConfig cfg = cfg_with(20, 4);
  std::vector<int32_t> a{1, 2, 3, 4, 5}, b{9};
  std::vector<int32_t> targets{6, 10};
  Batch bt = make_next_item_batch({{a, {}, {}, 0}, {b, {}, {}, 1}}, cfg, &targets);
  EXPECT_EQ(bt.item, (std::vector<int32_t>{3, 4, 5, 21, 9, 21}));
  EXPECT_EQ(bt.position, (std::vector<int32_t>{0, 1, 2, 3, 2, 3}));
  EXPECT_EQ(bt.target_rows, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(bt.target_items, targets);
  EXPECT_NO_THROW(bt.validate(cfg));
}

TEST(Batch, CausalTrainingTargetsAreTheNextEvents) {
  ModelConfig cfg = cfg_with(20, 4);
  cfg.objective = "causal";
  std::vector<int32_t> a{1, 2, 3, 4, 5, 6}, b{9, 8}, c{7};
  std::vector<int64_t> ta{10, 20, 30, 40, 50, 60}, tb{5, 6};
  Batch bt = make_causal_batch({{a, ta, {}, 0}, {b, tb, {}, 1}, {c, {}, {}, 2}}, cfg);
  // a keeps the newest T = 4 inputs (2..5 → targets 3..6), b one input (9 → 8), c none.
  EXPECT_EQ(bt.item, (std::vector<int32_t>{2, 3, 4, 5, 9}));
  EXPECT_EQ(bt.position, (std::vector<int32_t>{0, 1, 2, 3, 3}));
  EXPECT_EQ(bt.cu_seqlens, (std::vector<int64_t>{0, 4, 5, 5}));
  EXPECT_EQ(bt.target_rows, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(bt.target_items, (std::vector<int32_t>{3, 4, 5, 6, 8}));
  // The first kept input's gap is still known from the event before it; b's only input has none.
  EXPECT_EQ(bt.gap[0], time_gap_bucket(10, true, cfg.num_gap_buckets));
  EXPECT_EQ(bt.gap[4], 0);
  EXPECT_NO_THROW(bt.validate(cfg));
}

TEST(Batch, CausalNextItemReadsTheNewestEvent) {
  ModelConfig cfg = cfg_with(20, 4);
  cfg.objective = "causal";
  std::vector<int32_t> a{1, 2, 3, 4, 5}, b{9}, none;
  std::vector<int32_t> targets{6, 10, 11};
  Batch bt = make_next_item_batch({{a, {}, {}, 0}, {b, {}, {}, 1}, {none, {}, {}, 2}}, cfg, &targets);
  // No mask token (the causal model never trained on one), except for an empty history.
  EXPECT_EQ(bt.item, (std::vector<int32_t>{2, 3, 4, 5, 9, 21}));
  EXPECT_EQ(bt.position, (std::vector<int32_t>{0, 1, 2, 3, 3, 3}));
  EXPECT_EQ(bt.target_rows, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(bt.target_items, targets);
  EXPECT_NO_THROW(bt.validate(cfg));
}

TEST(Batch, BadInputsNameTheFieldAndValue) {
  const ModelConfig cfg = cfg_with(20, 4);
  std::vector<int32_t> bad{1, 21}, ok{1, 2};
  std::vector<int64_t> ts{1};
  std::vector<int8_t> act{1, 9};
  auto message = [](auto f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string m = message([&] { make_plain_batch({{bad, {}, {}, 5}}, cfg); });
  EXPECT_NE(m.find("item id 21"), std::string::npos) << m;
  m = message([&] { make_plain_batch({{ok, ts, {}, 5}}, cfg); });
  EXPECT_NE(m.find("1 timestamps for 2 items"), std::string::npos) << m;
  m = message([&] { make_plain_batch({{ok, {}, act, 5}}, cfg); });
  EXPECT_NE(m.find("action 9"), std::string::npos) << m;
  Batch b = make_plain_batch({{ok, {}, {}, 5}}, cfg);
  b.cu_seqlens.back() = 3;
  m = message([&] { b.validate(cfg); });
  EXPECT_NE(m.find("cu_seqlens"), std::string::npos) << m;
}

}  // namespace
}  // namespace seqmend
