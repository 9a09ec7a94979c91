// The report's recommendation section: per-seed paired differences and when it calls the recovered
// share noise (hand-computed cases).
#include "experiments/cli/report.h"

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

}  // namespace
}  // namespace seqmend
