// The audit stage (experiments/cli/audit_stage.h) on its own: a log with no truth anywhere is recorded
// as such and graded nowhere; hidden truth takes precedence over labels; a truth that holds other
// events than the scored data is refused; graded numbers come only from the truth's labels.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "core/base/error.h"
#include "experiments/cli/audit_stage.h"
#include "experiments/repair/edit_log.h"
#include "io/sequence_set.h"
#include "io/shard_set.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

struct AuditDir {
  test::TempDir dir{"seqmend_audit"};
  fs::path root = dir.path();
};

// Three users over items 1..4; `labels` marks the second event of user 0 as a noise click.
SequenceSet small_log(bool labels) {
  SequenceSet s;
  const std::vector<std::vector<int32_t>> seqs = {{1, 2, 3}, {2, 3, 4}, {4, 1, 2}};
  for (size_t u = 0; u < seqs.size(); ++u) {
    std::vector<int8_t> lab(seqs[u].size(), kLabelClean);
    if (labels && u == 0) lab[1] = kLabelNoiseClick;
    s.append(int64_t(u), seqs[u].data(), int64_t(seqs[u].size()), nullptr, nullptr, labels ? lab.data() : nullptr,
             int8_t(kLabelClean));
  }
  return s;
}

void write_set(const fs::path& dir, const SequenceSet& s) {
  ManifestInfo info;
  info.source = "audit test";
  info.num_items = 4;
  ShardOptions opt;
  opt.fsync = false;
  write_shard_set(dir.string(), info, {{"train", s}}, opt);
}

TEST(Audit, NoTruthAnywhereIsRecordedAndNothingGraded) {
  AuditDir d;
  write_set(d.root / "set", small_log(false));
  const nlohmann::json a = run_audit({(d.root / "set").string(), (d.root / "set.truth").string(),
                                      (d.root / "detect").string(), (d.root / "repair").string()});
  EXPECT_EQ(a["truth"], "none");
  EXPECT_EQ(a["truth_dir"], "");
  EXPECT_FALSE(a.contains("splits")) << a.dump();
  EXPECT_FALSE(a.contains("repair")) << a.dump();
  EXPECT_NE(a["note"].get<std::string>().find("nothing graded"), std::string::npos);
}

TEST(Audit, HiddenTruthComesFirstAndMustHoldTheSameEvents) {
  AuditDir d;
  write_set(d.root / "set", small_log(false));
  write_set(d.root / "set.truth", small_log(true));
  const AuditPaths p{(d.root / "set").string(), (d.root / "set.truth").string(), (d.root / "detect").string(), ""};
  const nlohmann::json a = run_audit(p);
  EXPECT_EQ(a["truth"], "hidden");
  EXPECT_EQ(a["truth_dir"], p.truth_dir);
  // No scores and no repair: the splits are there to grade, nothing was produced to grade.
  EXPECT_TRUE(a["splits"].empty()) << a.dump();
  EXPECT_TRUE(a["repair"].empty()) << a.dump();

  // A repair that made no edit is graded all the same: nothing deleted, nothing found.
  fs::create_directories(d.root / "repair");
  std::ofstream(d.root / "repair" / "edits.csv") << edit_log_csv(EditLog{});
  const nlohmann::json none = run_audit({p.data_dir, p.truth_dir, p.detect_dir, (d.root / "repair").string()});
  ASSERT_TRUE(none["repair"].contains("train")) << none.dump();
  EXPECT_EQ(none["repair"]["train"]["counts"]["delete"], 0) << none.dump();
  EXPECT_EQ(none["repair"]["train"]["labels"]["anomaly_recall"], 0.0) << none.dump();

  // Labels in the data itself are the visible truth when no DATA.truth exists.
  fs::remove_all(d.root / "set.truth");
  write_set(d.root / "labelled", small_log(true));
  EXPECT_EQ(run_audit({(d.root / "labelled").string(), (d.root / "labelled.truth").string(), "", ""})["truth"],
            "visible");

  // A truth of another corruption (one item differs) is refused, naming both directories.
  SequenceSet other = small_log(true);
  other.item[4] = 1;
  write_set(d.root / "set.truth", other);
  try {
    run_audit(p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not the same corruption"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seqmend
