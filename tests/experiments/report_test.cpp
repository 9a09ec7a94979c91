// The report's recommendation section: per-seed paired differences and when it calls the recovered
// share noise (hand-computed cases); its calibration table.
#include "experiments/cli/report.h"
#include "experiments/repair/precision_floor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace seqmend {
namespace {

// Test NDCG@10 per seed as given; valid = test + 0.01 (so both splits share their differences).
nlohmann::json set_of(const std::vector<double>& ndcg) {
  nlohmann::json runs = nlohmann::json::array();
  double mean = 0.0;
  for (size_t k = 0; k < ndcg.size(); ++k) {
    runs.push_back({{"seed", k},
                    {"test", {{"ndcg@10", ndcg[k]}, {"hr@10", 2 * ndcg[k]}}},
                    {"valid", {{"ndcg@10", ndcg[k] + 0.01}, {"hr@10", 2 * ndcg[k]}}}});
    mean += ndcg[k] / double(ndcg.size());
  }
  return {{"runs", runs},
          {"test", {{"ndcg@10", mean}, {"hr@10", 2 * mean}, {"num_users", 943}}},
          {"valid", {{"ndcg@10", mean + 0.01}, {"hr@10", 2 * mean}}}};
}

std::string report_with(const std::vector<double>& raw, const std::vector<double>& repaired,
                        const std::vector<double>& clean) {
  nlohmann::json rec = {{"seeds", raw.size()},
                        {"test_targets", "clean"},
                        {"sets", {{"raw", set_of(raw)}, {"repaired", set_of(repaired)}, {"clean", set_of(clean)}}}};
  return format_report_md({{"recommendation", rec}});
}

TEST(Report, PairedSeedDifferencesAndANoiseNoteOnlyWhenTheCostIsWithinNoise) {
  // clean − raw per seed: .010, .009, .011 → mean .0100, sd .001, se .001/√3 = .00058;
  // repaired − raw: .008, .005, .008 → mean .0070, sd √(6e-6 / 2) = .00173, se .0010.
  const std::string md = report_with({0.040, 0.042, 0.041}, {0.048, 0.047, 0.049}, {0.050, 0.051, 0.052});
  EXPECT_NE(md.find("test NDCG@10 differences over 3 seeds (mean ± standard error, paired by seed): "
                    "clean − raw 0.0100 ± 0.0006, repaired − raw 0.0070 ± 0.0010"), std::string::npos) << md;
  EXPECT_NE(md.find("valid NDCG@10 differences over 3 seeds"), std::string::npos) << md;
  EXPECT_NE(md.find("| raw | 0.0820 | 0.0410 | 0.0820 | 0.0510 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("Note:"), std::string::npos) << md;

  // clean − raw per seed: .002, .018, −.019 → mean .0003, far inside two standard errors.
  const std::string noisy = report_with({0.05, 0.04, 0.06}, {0.05, 0.05, 0.05}, {0.052, 0.058, 0.041});
  EXPECT_NE(noisy.find("clean − raw 0.0003 ±"), std::string::npos) << noisy;
  EXPECT_NE(noisy.find("on the test split the corruption's cost is within two standard errors of zero"),
            std::string::npos) << noisy;
}

TEST(Report, OneSeedFallsBackToTheTestUsersStandardError) {
  // HR@10 = 2·NDCG here: clean .104 vs raw .100, gap .004 < 2·√(.104·.896/943) = .0199.
  const std::string md = report_with({0.050}, {0.051}, {0.052});
  EXPECT_NE(md.find("beat the raw data by 0.0040 HR@10"), std::string::npos) << md;
}


// The calibration table: the expected precision and recall of each edit, the hidden share for a
// log_precision head, why a head makes no edits, and the noise kind the injections were weighed by.
TEST(Report, CalibrationSaysWhatEachEditExpectsAndTheNoiseKind) {
  const nlohmann::json cal = {
      {"event", {{"threshold", 0.1283}, {"precision", 0.8003}, {"recall", 0.254}, {"hidden_share", 0.1031},
                 {"target_reached", true}, {"degenerate", false}}},
      {"gap", {{"threshold", nullptr}, {"precision", 0.0}, {"recall", 0.0}, {"hidden_share", 0.02},
               {"target_reached", false}, {"degenerate", false}, {"best_expected_precision", 0.31},
               {"mixture", {{"fitted", true}, {"share", 0.1203}, {"genuine_sd", 2.17}}}}},
      {"sequence", {{"threshold", nullptr}, {"degenerate", true}, {"target_reached", false}}},
      {"noise_kind", {{"uniform_share", 0.85}, {"informative", true}, {"anchor", 0.3}}}};
  const std::string md = format_report_md({{"calibration", cal}});
  EXPECT_NE(md.find("| event (delete) | 0.1283 | 0.80 | 0.25 | 0.103 |  |"), std::string::npos) << md;
  EXPECT_NE(md.find("| gap (backfill) | – | 0.00 | 0.00 | 0.020 | target out of reach: no edits (best expected "
                    "precision 0.31); mixture fit: share 0.120, genuine sd 2.17 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| sequence (quarantine) | – | – | – | – | nothing to calibrate on: no edits |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("flagged at the 30 % anchor look 0.85 uniform-drawn"), std::string::npos) << md;
  // A log estimated cleaner than min_hidden_share is left alone, and the note says why.
  const nlohmann::json clean = {{"event", {{"threshold", nullptr}, {"precision", 0.0}, {"recall", 0.0},
                                           {"hidden_share", 0.002}, {"target_reached", false},
                                           {"below_min_share", true}, {"best_expected_precision", 0.96}}}};
  const std::string cmd = format_report_md({{"calibration", clean}});
  EXPECT_NE(cmd.find("| event (delete) | – | 0.00 | 0.00 | 0.002 | hidden share below min_hidden_share: taken as "
                     "clean, no edits (best expected precision 0.96) |"),
            std::string::npos)
      << cmd;
  EXPECT_EQ(md.find("even odds"), std::string::npos) << md;
  // Without an estimate there is no noise-kind line; without calibration no table.
  nlohmann::json even = cal;
  even["noise_kind"]["informative"] = false;
  EXPECT_NE(format_report_md({{"calibration", even}}).find("no evidence either way, so even odds"), std::string::npos);
  EXPECT_EQ(format_report_md(nlohmann::json::object()).find("Calibration ("), std::string::npos);
}

TEST(Report, ThePrecisionFloorSaysWhichEditsItLetThrough) {
  RepairConfig c;
  c.min_expected_precision = 0.8;
  c.backfill_min_prob = 0.3;
  const nlohmann::json floor = apply_precision_floor({0.9, 0.06, 0.5}, c);
  const nlohmann::json repair = {{"extra", {{"precision_floor", floor}}}};
  const std::string md = format_report_md({{"repair", repair}});
  EXPECT_NE(md.find("Precision floor 0.80 (`repair.min_expected_precision`): an edit is made only where its expected "
                    "precision reaches it — delete on (head 0.90), replace on (head 0.90, predictions at probability "
                    "≥ 0.89), backfill off (head 0.06; head below the floor), quarantine off (head 0.50; head below "
                    "the floor)."),
            std::string::npos)
      << md;
  // No floor, no line.
  RepairConfig none;
  none.min_expected_precision = 0;
  const nlohmann::json off = {{"extra", {{"precision_floor", apply_precision_floor({0.9, 0.06, 0.5}, none)}}}};
  EXPECT_EQ(format_report_md({{"repair", off}}).find("Precision floor"), std::string::npos);
}

}  // namespace
}  // namespace seqmend
