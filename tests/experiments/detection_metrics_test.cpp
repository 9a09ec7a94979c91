// Detection metrics against hand-computed cases, ties, one-class inputs and O(n²) references.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/base/error.h"
#include "experiments/eval/detection_metrics.h"

namespace seqmend {
namespace {

// Every (positive, negative) pair: 1 if the positive scores higher, 1/2 on a tie.
double pairwise_auc(const std::vector<float>& s, const std::vector<uint8_t>& y) {
  double wins = 0;
  int64_t pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] && !y[j]) {
        wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
        ++pairs;
      }
  return wins / double(pairs);
}

// Mean over positives of the precision among items scoring >= that positive's score (equal to
// sklearn's step-wise sum when a tie group enters all at once).
double pairwise_ap(const std::vector<float>& s, const std::vector<uint8_t>& y) {
  double sum = 0;
  int64_t npos = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!y[i]) continue;
    ++npos;
    int64_t at_least = 0, pos_at_least = 0;
    for (size_t j = 0; j < s.size(); ++j)
      if (s[j] >= s[i]) {
        ++at_least;
        pos_at_least += y[j];
      }
    sum += double(pos_at_least) / double(at_least);
  }
  return sum / double(npos);
}

TEST(DetectionMetrics, HandComputedCase) {
  // scores [0.1, 0.4, 0.35, 0.8], labels [0, 0, 1, 1]
  // AUC: pairs (pos, neg): 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes → 3/4 = 0.75
  // AP: descending 0.8(+) P=1 R=.5; 0.4(-) P=.5 R=.5; 0.35(+) P=2/3 R=1; 0.1(-)
  //     → 0.5·1 + 0.5·2/3 = 0.8333…
  std::vector<float> s = {0.1f, 0.4f, 0.35f, 0.8f};
  std::vector<uint8_t> y = {0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc(s, y), 0.75);
  EXPECT_NEAR(average_precision(s, y), 5.0 / 6.0, 1e-12);
  // threshold 0.35 flags 0.4, 0.35, 0.8: tp 2, fp 1, fn 0, tn 1 → P 2/3, R 1, F1 0.8
  ThresholdMetrics m = metrics_at_threshold(s, y, 0.35);
  EXPECT_EQ(m.tp, 2);
  EXPECT_EQ(m.fp, 1);
  EXPECT_EQ(m.fn, 0);
  EXPECT_EQ(m.tn, 1);
  EXPECT_NEAR(m.precision, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_NEAR(m.f1, 0.8, 1e-12);
  // threshold 0.5 flags 0.8 only: tp 1, fn 1 → P 1, R .5, F1 2/3
  m = metrics_at_threshold(s, y, 0.5);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_NEAR(m.f1, 2.0 / 3.0, 1e-12);
}

TEST(DetectionMetrics, TiesCountHalfAndEnterTogether) {
  // scores [0.5, 0.5, 0.5, 0.2], labels [1, 0, 1, 0]
  // AUC: pos 0.5 vs neg 0.5 → 1/2 (twice), pos 0.5 vs neg 0.2 → 1 (twice) → 3/4
  // AP: the tie group of three enters at once: P = 2/3, R = 1 → 2/3
  std::vector<float> s = {0.5f, 0.5f, 0.5f, 0.2f};
  std::vector<uint8_t> y = {1, 0, 1, 0};
  EXPECT_DOUBLE_EQ(roc_auc(s, y), 0.75);
  EXPECT_NEAR(average_precision(s, y), 2.0 / 3.0, 1e-12);
  // All scores equal: AUC 1/2, AP = prevalence (1/2).
  std::vector<float> flat = {0.3f, 0.3f, 0.3f, 0.3f};
  EXPECT_DOUBLE_EQ(roc_auc(flat, y), 0.5);
  EXPECT_DOUBLE_EQ(average_precision(flat, y), 0.5);
}

TEST(DetectionMetrics, PerfectAndInvertedRankings) {
  std::vector<float> s = {0.1f, 0.2f, 0.3f, 0.4f};
  EXPECT_DOUBLE_EQ(roc_auc(s, std::vector<uint8_t>{0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(average_precision(s, std::vector<uint8_t>{0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(s, std::vector<uint8_t>{1, 1, 0, 0}), 0.0);
  // inverted: positives at ranks 3, 4 → (1/2)(1/3 + 2/4) = 5/12
  EXPECT_NEAR(average_precision(s, std::vector<uint8_t>{1, 1, 0, 0}), 5.0 / 12.0, 1e-12);
}

TEST(DetectionMetrics, OneClassIsUndefinedAndReportedAsNull) {
  std::vector<float> s = {0.1f, 0.9f};
  EXPECT_TRUE(std::isnan(roc_auc(s, std::vector<uint8_t>{1, 1})));
  EXPECT_TRUE(std::isnan(roc_auc(s, std::vector<uint8_t>{0, 0})));
  EXPECT_TRUE(std::isnan(average_precision(s, std::vector<uint8_t>{0, 0})));
  EXPECT_DOUBLE_EQ(average_precision(s, std::vector<uint8_t>{1, 1}), 1.0);  // every flag is a hit
  EXPECT_TRUE(std::isnan(roc_auc(std::vector<float>{}, std::vector<uint8_t>{})));
  ThresholdMetrics m = metrics_at_threshold(s, std::vector<uint8_t>{0, 0}, 2.0);
  EXPECT_TRUE(std::isnan(m.precision));  // nothing flagged
  EXPECT_TRUE(std::isnan(m.recall));     // no positive
  EXPECT_TRUE(std::isnan(m.f1));
  EXPECT_TRUE(json_number(m.precision).is_null());
  EXPECT_EQ(json_number(0.25).get<double>(), 0.25);
}

TEST(DetectionMetrics, RejectsNaNScoresAndSizeMismatch) {
  std::vector<float> s = {0.1f, std::nanf("")};
  EXPECT_THROW(roc_auc(s, std::vector<uint8_t>{0, 1}), Error);
  EXPECT_THROW(average_precision(std::vector<float>{0.1f}, std::vector<uint8_t>{0, 1}), Error);
  try {
    roc_auc(s, std::vector<uint8_t>{0, 1});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("roc_auc: score 1"), std::string::npos) << e.what();
  }
}

TEST(DetectionMetrics, LargeRandomCasesMatchPairwiseReferences) {
  std::mt19937 gen(12345);
  for (int trial = 0; trial < 6; ++trial) {
    const int n = 300 + 250 * trial;
    // Coarse scores (20 levels) make many ties; positives score higher on average.
    std::vector<float> s(static_cast<size_t>(n));
    std::vector<uint8_t> y(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      y[size_t(i)] = std::uniform_real_distribution<double>(0, 1)(gen) < 0.2 + 0.1 * trial;
      int level = std::uniform_int_distribution<int>(0, 19)(gen) + (y[size_t(i)] ? 4 : 0);
      s[size_t(i)] = trial % 2 ? float(level) / 23.0f : float(level) + 0.001f * float(i % 7);
    }
    EXPECT_NEAR(roc_auc(s, y), pairwise_auc(s, y), 1e-12) << "trial " << trial;
    EXPECT_NEAR(average_precision(s, y), pairwise_ap(s, y), 1e-12) << "trial " << trial;
    EXPECT_GT(roc_auc(s, y), 0.55);  // the planted signal is seen
  }
}

TEST(DetectionMetrics, HeadReportSplitsTypesAgainstClean) {
  // codes: clean 0, noise 1, substitution 2, gap 4 (a genuine event: negative for the event head),
  // bot 5 (left out of the event head)
  std::vector<int8_t> codes = {0, 0, 1, 1, 2, 4, 5};
  std::vector<float> s = {0.1f, 0.3f, 0.9f, 0.2f, 0.6f, 0.4f, 0.95f};
  nlohmann::json r = head_report(s, codes, 0.5, event_head_codes());
  // overall: positives {0.9, 0.2, 0.6} vs negatives {0.1, 0.3, 0.4}:
  // 0.9 beats 3, 0.6 beats 3, 0.2 beats 1 (0.1) → 7/9
  EXPECT_EQ(r["overall"]["positives"], 3);
  EXPECT_EQ(r["overall"]["negatives"], 3);
  EXPECT_NEAR(r["overall"]["roc_auc"].get<double>(), 7.0 / 9.0, 1e-12);
  // at 0.5: flagged 0.9 and 0.6 (bot event ignored) → tp 2, fp 0, fn 1
  EXPECT_EQ(r["overall"]["tp"], 2);
  EXPECT_EQ(r["overall"]["fp"], 0);
  EXPECT_EQ(r["overall"]["fn"], 1);
  // noise_click {0.9, 0.2} vs negatives: (3 + 1) / 6
  EXPECT_NEAR(r["by_type"]["noise_click"]["roc_auc"].get<double>(), 4.0 / 6.0, 1e-12);
  EXPECT_NEAR(r["by_type"]["substitution"]["roc_auc"].get<double>(), 1.0, 1e-12);
  EXPECT_FALSE(r["by_type"].contains("burst_repeat"));  // absent type: no entry
  // A head without positives: AUC undefined → null.
  nlohmann::json g = head_report(s, std::vector<int8_t>{0, 0, 0, 0, 0, 0, 0}, 0.5, gap_head_codes());
  EXPECT_TRUE(g["overall"]["roc_auc"].is_null());
  EXPECT_TRUE(g["overall"]["pr_auc"].is_null());
}

TEST(DetectionMetrics, ReportCoversEveryHeadPresent) {
  SequenceSet set;
  int32_t items[3] = {1, 2, 3};
  int64_t ts[3] = {1, 2, 3};
  int8_t lab_a[3] = {0, 1, 4}, lab_b[3] = {5, 5, 5};
  set.append(0, items, 3, ts, nullptr, lab_a, 0);
  set.append(1, items, 3, ts, nullptr, lab_b, kLabelBotPush);
  DetectorScores sc;
  sc.event = {0.1f, 0.8f, 0.2f, 0.5f, 0.5f, 0.5f};
  sc.sequence = {0.2f, 0.7f};
  nlohmann::json r = detection_report(sc, set, 0.5, 0.5, 0.5);
  EXPECT_TRUE(r.contains("event"));
  EXPECT_FALSE(r.contains("gap"));
  EXPECT_DOUBLE_EQ(r["event"]["overall"]["roc_auc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r["sequence"]["overall"]["roc_auc"].get<double>(), 1.0);
  EXPECT_EQ(r["sequence"]["by_type"]["bot_push"]["tp"], 1);
  sc.gap = {0.1f};
  EXPECT_THROW(detection_report(sc, set, 0.5, 0.5, 0.5), Error);
}

// The items a head is graded on, shared by the reports, the thresholds and the score fusion.
TEST(DetectionMetrics, HeadItemsKeepTheHeadsCodesOnly) {
  const std::vector<int8_t> codes{kLabelClean, kLabelNoiseClick, kLabelBotUniform, kLabelGapAfter,
                                  kLabelSubstitution};
  HeadItems ev = head_items(codes, event_head_codes());
  EXPECT_EQ(ev.index, (std::vector<size_t>{0, 1, 3, 4}));  // the bot event is nobody's business here
  EXPECT_EQ(ev.positive, (std::vector<uint8_t>{0, 1, 0, 1}));
  HeadItems noise = head_items(codes, event_head_codes(), kLabelNoiseClick);
  EXPECT_EQ(noise.index, (std::vector<size_t>{0, 1, 3}));  // substitution is neither here
  EXPECT_EQ(noise.positive, (std::vector<uint8_t>{0, 1, 0}));
  HeadItems gap = head_items(codes, gap_head_codes());
  EXPECT_EQ(gap.positive, (std::vector<uint8_t>{0, 0, 1, 0}));
}

}  // namespace
}  // namespace seqmend
