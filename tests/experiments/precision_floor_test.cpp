// Repair's floor on the expected precision of its edits (experiments/repair/precision_floor.h):
// each edit kind stays on only where the head behind it can reach the floor, replace and backfill
// then need a prediction sure enough to make head precision × probability reach it, and an unknown
// precision counts as not reaching it.
#include "experiments/repair/precision_floor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/support/error_of.h"

namespace seqmend {
namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

RepairConfig all_on() {
  RepairConfig c;
  c.delete_events = c.replace = c.backfill = c.quarantine = true;
  c.replace_min_prob = 0.5;
  c.backfill_min_prob = 0.3;
  return c;
}

// On unless a config says otherwise: a repair run with the defaults makes no edit below 0.8.
TEST(PrecisionFloor, IsOnByDefault) {
  RepairConfig c;
  EXPECT_DOUBLE_EQ(c.min_expected_precision, 0.8);
  const nlohmann::json r = apply_precision_floor({0.64, 0.9, 0.99}, c);
  EXPECT_FALSE(c.delete_events) << r.dump();
  EXPECT_TRUE(c.quarantine) << r.dump();
}

// The decision in words (the repair's console line and the report): every kind, on or off and why.
TEST(PrecisionFloor, SaysWhatItDecided) {
  RepairConfig c = all_on();
  c.min_expected_precision = 0.8;
  const nlohmann::json r = apply_precision_floor({0.9, 0.06, kUnknown}, c);
  EXPECT_EQ(precision_floor_summary(r),
            "delete on (head 0.90), replace on (head 0.90, predictions at probability ≥ 0.89), backfill off (head "
            "0.06; head below the floor), quarantine off (head –; head precision unknown (re-run detect))");
  RepairConfig none = all_on();
  none.min_expected_precision = 0;
  EXPECT_EQ(precision_floor_summary(apply_precision_floor({0.9, 0.06, 0.5}, none)), "");
  EXPECT_EQ(precision_floor_summary(nlohmann::json()), "");
}

TEST(PrecisionFloor, NoFloorLeavesThePoliciesAsTheyAre) {
  RepairConfig c = all_on();
  c.min_expected_precision = 0;
  const nlohmann::json r = apply_precision_floor({0.1, 0.1, 0.1}, c);
  EXPECT_EQ(r, (nlohmann::json{{"min_expected_precision", 0.0}}));
  EXPECT_TRUE(c.delete_events && c.replace && c.backfill && c.quarantine);
  EXPECT_EQ(c.replace_min_prob, 0.5);
  EXPECT_EQ(c.backfill_min_prob, 0.3);
}

// The ML-100K noisy log's calibration: deletions at 0.80, the gap head's best-F1 flags 0.06 precise,
// no bots to calibrate on.
TEST(PrecisionFloor, AWeakGapHeadTurnsBackfillOffAndDeletionsStay) {
  RepairConfig c = all_on();
  c.min_expected_precision = 0.8;
  const nlohmann::json r = apply_precision_floor({0.80, 0.06, kUnknown}, c);
  EXPECT_TRUE(c.delete_events);
  EXPECT_TRUE(c.replace);
  EXPECT_DOUBLE_EQ(c.replace_min_prob, 1.0) << "0.8 expected precision needs a sure prediction: 0.8 / 0.8";
  EXPECT_FALSE(c.backfill);
  EXPECT_FALSE(c.quarantine);
  EXPECT_EQ(r["backfill"]["why"], "head below the floor");
  EXPECT_EQ(r["backfill"]["expected_precision"], 0.06);
  EXPECT_EQ(r["quarantine"]["why"], "head precision unknown (re-run detect)");
  EXPECT_TRUE(r["quarantine"]["expected_precision"].is_null());
  EXPECT_EQ(r["delete"]["on"], true);
  EXPECT_DOUBLE_EQ(r["replace"]["min_prob"].get<double>(), 1.0);
}

TEST(PrecisionFloor, AnEditNeedsHeadPrecisionTimesProbabilityToReachTheFloor) {
  RepairConfig c = all_on();
  c.min_expected_precision = 0.6;
  apply_precision_floor({0.9, 0.75, 0.95}, c);
  EXPECT_TRUE(c.delete_events && c.replace && c.backfill && c.quarantine);
  EXPECT_DOUBLE_EQ(c.replace_min_prob, 0.6 / 0.9);
  EXPECT_DOUBLE_EQ(c.backfill_min_prob, 0.6 / 0.75);
  // A stricter probability of the config's own stays.
  RepairConfig strict = all_on();
  strict.min_expected_precision = 0.6;
  strict.replace_min_prob = 0.95;
  apply_precision_floor({0.9, 0.75, 0.95}, strict);
  EXPECT_DOUBLE_EQ(strict.replace_min_prob, 0.95);
}

TEST(PrecisionFloor, AnEventHeadBelowTheFloorStopsDeletionsAndReplacementsAlike) {
  RepairConfig c = all_on();
  c.min_expected_precision = 0.8;
  const nlohmann::json r = apply_precision_floor({0.64, 0.9, 0.99}, c);
  EXPECT_FALSE(c.delete_events);
  EXPECT_FALSE(c.replace);
  EXPECT_TRUE(c.backfill);
  EXPECT_TRUE(c.quarantine);
  EXPECT_EQ(r["replace"]["why"], "head below the floor");
  EXPECT_FALSE(r["replace"].contains("min_prob"));
}

TEST(PrecisionFloor, AKindTheConfigTurnedOffStaysOffWithoutAReason) {
  RepairConfig c = all_on();
  c.replace = false;
  c.min_expected_precision = 0.5;
  const nlohmann::json r = apply_precision_floor({0.9, 0.9, 0.9}, c);
  EXPECT_FALSE(c.replace);
  EXPECT_EQ(r["replace"]["on"], false);
  EXPECT_FALSE(r["replace"].contains("why"));
}

TEST(PrecisionFloor, ExpectedPrecisionComesFromTheCalibrationRecord) {
  HeadThresholds h;
  h.event.threshold = 0.09;
  h.event.precision = 0.8;
  h.gap.threshold = 0.04;
  h.gap.precision = 0.06;
  const HeadPrecision p = HeadPrecision::from_calibration(h.to_json());
  EXPECT_EQ(p.event, 0.8);
  EXPECT_EQ(p.gap, 0.06);
  EXPECT_EQ(p.sequence, 0.0) << "a head that flags nothing has precision 0 in the record";
  const HeadPrecision none = HeadPrecision::from_calibration(nlohmann::json());
  EXPECT_TRUE(std::isnan(none.event) && std::isnan(none.gap) && std::isnan(none.sequence));
  EXPECT_EQ(none.to_json(), (nlohmann::json{{"event", nullptr}, {"gap", nullptr}, {"sequence", nullptr}}));
}

TEST(PrecisionFloor, AFloorOutsideZeroToOneIsAnError) {
  RepairConfig c = all_on();
  c.min_expected_precision = 1.5;
  EXPECT_NE(test::error_of([&] { apply_precision_floor({}, c); }).find("min_expected_precision 1.5"),
            std::string::npos);
}

}  // namespace
}  // namespace seqmend
