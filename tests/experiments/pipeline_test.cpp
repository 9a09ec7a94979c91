// `seqmend run`: a tiny pipeline end to end, the report's sections, skipping unchanged stages on a
// re-run, and re-running from the stage whose config changed.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "experiments/cli/evaluate_stage.h"
#include "experiments/cli/pipeline.h"
#include "experiments/cli/repair_stage.h"
#include "io/shard_set.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_pipeline.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

using test_support::Ran;
using test_support::run_shell;
using test_support::tiny_pipeline;
using test_support::with_setting;

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// name → "running" or "skipped", from the run's progress lines.
std::map<std::string, std::string> stage_actions(const std::string& output) {
  std::map<std::string, std::string> out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("run: ", 0) != 0) continue;
    std::istringstream w(line.substr(5));
    std::string name, what;
    w >> name >> what;
    if (what == "running") out[name] = "running";
    if (what == "unchanged") out[name] = "skipped";
  }
  return out;
}

class PipelineTest : public ::testing::Test {
 protected:

  Ran run(const std::string& yaml, const std::string& options = "") {
    std::string file = (dir_ / "pipeline.yaml").string();
    std::ofstream(file) << yaml;
    return run_shell("timeout 300 " + std::string(SEQMEND_BINARY) + " run " + file + options);
  }
  test::TempDir tmp_{"seqmend_pipeline"};
  fs::path dir_ = tmp_.path();
};

TEST_F(PipelineTest, RunsEveryStageWritesTheReportAndSkipsOrRerunsByConfig) {
  const std::string run_dir = (dir_ / "run").string();
  Ran first = run(tiny_pipeline(run_dir));
  ASSERT_EQ(first.status, 0) << first.output;
  auto acts = stage_actions(first.output);
  for (const auto& name : pipeline_stage_order()) {
    EXPECT_EQ(acts[name], "running") << name << "\n" << first.output;
    EXPECT_TRUE(fs::is_regular_file(run_dir + "/" + name + "/done.json")) << name;
  }
  for (const char* f : {"/data/set/manifest.json", "/pretrain/run/results.json", "/finetune/run/detector.h5",
                        "/detect/test/scores.h5", "/repair/set/repair.json", "/evaluate/run/evaluate.json"})
    EXPECT_TRUE(fs::is_regular_file(run_dir + f)) << f;

  // The report: every section, and numbers that come from the stages' own files.
  const std::string md = read_text(run_dir + "/report.md");
  for (const char* section : {"## Data", "## Detection", "## Repair", "## Recommendation", "## Plots"})
    EXPECT_NE(md.find(section), std::string::npos) << section << "\n" << md;
  nlohmann::json report = nlohmann::json::parse(read_text(run_dir + "/report.json"));
  nlohmann::json ev = nlohmann::json::parse(read_text(run_dir + "/evaluate/run/evaluate.json"));
  for (const char* set : {"raw", "repaired", "clean"}) {
    ASSERT_TRUE(ev["sets"].contains(set)) << set;
    EXPECT_EQ(report["recommendation"]["sets"][set]["test"]["hr@10"], ev["sets"][set]["test"]["hr@10"]);
    double hr = ev["sets"][set]["test"]["hr@10"].get<double>();
    EXPECT_GE(hr, 0.0);
    EXPECT_LE(hr, 1.0);
  }
  // Each training's ranks.csv holds the per-user ranks its metrics came from (the parameters best on
  // valid, reloaded after training); the paired comparison over users is built from them, over the
  // users every set ranked (repair's quarantine takes users out of the repaired valid split).
  auto user_ndcg = [](int64_t r) { return r < 10 ? 1.0 / std::log2(double(r) + 2.0) : 0.0; };
  std::map<std::string, std::map<std::string, std::map<int64_t, double>>> by_user;  // set → split → user
  for (const char* set : {"raw", "repaired", "clean"}) {
    std::istringstream csv(read_text(run_dir + "/evaluate/run/" + set + "/ranks.csv"));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "user,valid_rank,test_rank");
    while (std::getline(csv, line)) {
      std::stringstream ss(line);
      std::string user, valid, test;
      std::getline(ss, user, ',');
      std::getline(ss, valid, ',');
      std::getline(ss, test, ',');
      for (const auto& [split, rank] : {std::pair<std::string, std::string>{"valid", valid}, {"test", test}})
        if (!rank.empty()) by_user[set][split][std::stoll(user)] = user_ndcg(std::stoll(rank));
    }
    for (const char* split : {"valid", "test"}) {
      const auto& m = by_user[set][split];
      ASSERT_FALSE(m.empty()) << set << " " << split;
      double sum = 0;
      for (const auto& [u, v] : m) sum += v;
      EXPECT_NEAR(sum / double(m.size()), ev["sets"][set][split]["ndcg@10"].get<double>(), 1e-9) << set << " " << split;
    }
  }
  for (const char* split : {"valid", "test"}) {
    const nlohmann::json& b = ev["paired_users"][split]["ndcg@10"];
    ASSERT_TRUE(b.is_object()) << ev["paired_users"].dump();
    double diff = 0;
    int64_t common = 0;
    for (const auto& [u, raw] : by_user["raw"][split]) {
      if (!by_user["repaired"][split].count(u) || !by_user["clean"][split].count(u)) continue;
      diff += by_user["clean"][split][u] - raw;
      ++common;
    }
    EXPECT_EQ(b["users"], common) << split;
    EXPECT_NEAR(b["clean_minus_raw"]["mean"].get<double>(), diff / double(common), 1e-12) << split;
    EXPECT_LE(b["repaired_minus_raw"]["low"].get<double>(), b["repaired_minus_raw"]["high"].get<double>());
    EXPECT_TRUE(ev["paired_users"][split].contains("hr@10")) << split;
  }
  EXPECT_NE(md.find("paired bootstrap"), std::string::npos) << md;
  EXPECT_NE(md.find("| test | ndcg@10 | " + std::to_string(ev["paired_users"]["test"]["ndcg@10"]["users"].get<int64_t>()) +
                    " | "),
            std::string::npos)
      << md;
  EXPECT_EQ(report["data"]["splits"]["test"]["sequences"].get<int64_t>(),
            nlohmann::json::parse(read_text(run_dir + "/data/set/manifest.json"))["splits"]["test"]["sequences"]
                .get<int64_t>());
  EXPECT_TRUE(report["repair"]["stats"].contains("test"));
  EXPECT_TRUE(report["detection"].contains("test"));
  // The audit grades against the labels the stages could see, and the report says so.
  nlohmann::json audit = nlohmann::json::parse(read_text(run_dir + "/audit/audit.json"));
  EXPECT_EQ(audit["truth"], "visible");
  EXPECT_TRUE(audit["splits"]["test"]["detection"]["event"]["overall"]["roc_auc"].is_number());
  EXPECT_NE(md.find("**Visible truth.**"), std::string::npos) << md;
  // Plots exist, or the report says why not.
  EXPECT_TRUE(!report["plots"].empty() || !report["plots_note"].get<std::string>().empty());

  // Same file again: nothing runs.
  Ran second = run(tiny_pipeline(run_dir));
  ASSERT_EQ(second.status, 0) << second.output;
  acts = stage_actions(second.output);
  for (const auto& name : pipeline_stage_order()) EXPECT_EQ(acts[name], "skipped") << name << "\n" << second.output;

  // A changed repair section: the stages before repair are skipped, repair and after run again.
  Ran third = run(tiny_pipeline(run_dir, ", quarantine: false"));
  ASSERT_EQ(third.status, 0) << third.output;
  acts = stage_actions(third.output);
  for (const char* name : {"data", "pretrain", "finetune", "detect"}) EXPECT_EQ(acts[name], "skipped") << name;
  for (const char* name : {"repair", "audit", "evaluate", "report"}) EXPECT_EQ(acts[name], "running") << name;
  nlohmann::json rep = nlohmann::json::parse(read_text(run_dir + "/repair/set/repair.json"));
  EXPECT_EQ(rep["stats"]["test"]["counts"]["quarantine"].get<int64_t>(), 0);
  // `seqmend run` installs the encoder's masked-item predictor; with backfill_min_prob 0 (the
  // default) every flagged gap outside the protected tail gets the model's item.
  EXPECT_EQ(rep["extra"]["predictor"], "model");
  int64_t flagged_gaps_inserted = 0;
  for (const auto& [split, st] : rep["stats"].items()) flagged_gaps_inserted += st["counts"]["insert"].get<int64_t>();
  EXPECT_GT(flagged_gaps_inserted, 0) << rep["stats"].dump();

  // A precision floor just above the gap head's calibrated precision: no gap is backfilled, and
  // every edit kind is on exactly where its head's expected precision reaches the floor.
  const ScoresFile sf = read_scores_h5(run_dir + "/detect/test/scores.h5");
  const nlohmann::json cal =
      nlohmann::json::parse(read_text(run_dir + "/finetune/run/results.json"))["calibration"];
  EXPECT_DOUBLE_EQ(sf.expected.gap, cal["gap"]["precision"].get<double>());
  EXPECT_DOUBLE_EQ(sf.expected.event, cal["event"]["precision"].get<double>());
  ASSERT_LT(sf.expected.gap, 0.99) << "the tiny detector's gaps are too easy for this check";
  const double floor = std::round((sf.expected.gap + 0.005) * 1000) / 1000;
  Ran fourth = run(with_setting(tiny_pipeline(run_dir, ", quarantine: false"), "min_expected_precision: 0",
                                "min_expected_precision: " + std::to_string(floor)));
  ASSERT_EQ(fourth.status, 0) << fourth.output;
  char floor_text[16];
  std::snprintf(floor_text, sizeof floor_text, "%.2f", floor);
  EXPECT_NE(fourth.output.find("repair: no edit under " + std::string(floor_text) +
                               " expected precision (repair.min_expected_precision): delete "),
            std::string::npos)
      << fourth.output;
  EXPECT_NE(fourth.output.find("backfill off (head "), std::string::npos) << fourth.output;
  rep = nlohmann::json::parse(read_text(run_dir + "/repair/set/repair.json"));
  const nlohmann::json& pf = rep["extra"]["precision_floor"];
  EXPECT_NEAR(pf["min_expected_precision"].get<double>(), floor, 1e-12) << pf.dump();
  EXPECT_EQ(pf["backfill"]["on"], false) << pf.dump();
  EXPECT_EQ(pf["backfill"]["why"], "head below the floor") << pf.dump();
  EXPECT_EQ(pf["delete"]["on"], sf.expected.event >= floor) << pf.dump();
  EXPECT_EQ(pf["quarantine"]["on"], false) << "off in the config";
  if (!pf["replace"]["on"].get<bool>()) {
    EXPECT_EQ(rep["extra"]["predictor"], "none") << "nothing to ask the model";
  }
  int64_t inserted = 0, deleted = 0;
  for (const auto& [split, st] : rep["stats"].items()) {
    inserted += st["counts"]["insert"].get<int64_t>();
    deleted += st["counts"]["delete"].get<int64_t>();
  }
  EXPECT_EQ(inserted, 0) << rep["stats"].dump();
  if (sf.expected.event < floor) {
    EXPECT_EQ(deleted, 0) << rep["stats"].dump();
  }

  // Stopped after the audit with repair changed: a partial report of the stages that ran; the whole
  // report and the evaluation, now older than the repair, are neither shown nor touched.
  const std::string whole = read_text(run_dir + "/report.md");
  ASSERT_NE(whole.find("Recovered share"), std::string::npos) << whole;
  Ran partial = run(tiny_pipeline(run_dir, ", quarantine: false, replace: false"), " --stop-after audit");
  ASSERT_EQ(partial.status, 0) << partial.output;
  EXPECT_NE(partial.output.find("run: stopped after audit as asked; report of the stages so far in " + run_dir +
                                "/report.partial.md"),
            std::string::npos)
      << partial.output;
  const std::string partial_md = read_text(run_dir + "/report.partial.md");
  EXPECT_NE(partial_md.find("**Partial report**: the run stopped after `audit`"), std::string::npos) << partial_md;
  EXPECT_NE(partial_md.find("| split | delete | replace | insert | quarantine |"), std::string::npos) << partial_md;
  EXPECT_EQ(partial_md.find("Recovered share"), std::string::npos) << "evaluate did not run in this run:\n" << partial_md;
  const nlohmann::json pj = nlohmann::json::parse(read_text(run_dir + "/report.partial.json"));
  EXPECT_EQ(pj["stopped_after"], "audit");
  EXPECT_TRUE(pj["recommendation"].is_null());
  EXPECT_TRUE(pj["repair"].is_object());
  EXPECT_EQ(read_text(run_dir + "/report.md"), whole);
}

// A noisy log: the data stage hides the truth in data/set.truth, and no stage before the audit may
// open it. Between the data stage and the audit the truth directory is replaced by files that fail
// to parse; the stages must run regardless, and after the real truth is back the audit and evaluate
// grade against it.
TEST_F(PipelineTest, NoisyLogStagesNeverOpenTheHiddenTruth) {
  const std::string run_dir = (dir_ / "noisy").string();
  std::string yaml = tiny_pipeline(run_dir);
  const std::string from = "  inject: {noise_rate: 0.05, drop_rate: 0.03, bot_rate: 0.05, protect_last: 2}\n";
  const size_t at = yaml.find(from);
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, from.size(),
               "  inject: {mode: edit, noise_items: uniform, bot_rate: 0, protect_last: 2}\n  hide_truth: true\n");
  // Canaries in the pretraining copy, for fine-tuning to calibrate on (experiments/train/canaries.h).
  const std::string threads = "  threads: 1\n";
  ASSERT_NE(yaml.find(threads), std::string::npos);
  yaml.insert(yaml.find(threads) + threads.size(),
              "  canaries: {enabled: true, inject: {noise_items: mixed, edit: {delete_prob: 0.1}}}\n");
  // Deletions at an expected precision on the log's own events, the canaries weighed by the noise
  // kind the log's flagged events look like (experiments/detect/noise_kind.h).
  const std::string finetune = "finetune: {";
  ASSERT_NE(yaml.find(finetune), std::string::npos);
  yaml.insert(yaml.find(finetune) + finetune.size(), "thresholds: {event_method: log_precision}, ");
  const std::string file = (dir_ / "noisy.yaml").string();
  std::ofstream(file) << yaml;
  const std::string cmd = "timeout 300 " + std::string(SEQMEND_BINARY) + " run " + file;
  Ran data = run_shell(cmd + " --stop-after data");
  ASSERT_EQ(data.status, 0) << data.output;

  const std::string set = run_dir + "/data/set", truth = set + ".truth", kept = (dir_ / "kept_truth").string();
  ASSERT_TRUE(fs::is_regular_file(truth + "/manifest.json"));
  ASSERT_TRUE(fs::is_regular_file(truth + "/repair_truth.tsv"));
  ASSERT_TRUE(fs::is_regular_file(truth + "/clean/manifest.json"));
  // What the stages see holds no truth: no labels, no clean copy, no repair truth, no seed.
  EXPECT_FALSE(fs::exists(set + "/clean"));
  EXPECT_FALSE(fs::exists(set + "/repair_truth.tsv"));
  EXPECT_FALSE(fs::exists(set + "/config.yaml"));
  SequenceSet seen = load_split(set, "train");
  EXPECT_FALSE(seen.has_labels());
  const std::string manifest = read_text(set + "/manifest.json");
  EXPECT_EQ(manifest.find("label_events"), std::string::npos);
  EXPECT_EQ(manifest.find("inject_seed"), std::string::npos);
  SequenceSet labelled = load_split(truth, "train");
  ASSERT_TRUE(labelled.has_labels());
  EXPECT_EQ(labelled.item, seen.item);

  fs::rename(truth, kept);
  for (const char* f : {"/manifest.json", "/clean/manifest.json", "/repair_truth.tsv", "/clean/test-00000.h5",
                        "/train-00000.h5"}) {
    fs::create_directories(fs::path(truth + f).parent_path());
    std::ofstream(truth + f) << "poison: any stage that reads this fails\n";
  }
  Ran blind = run_shell(cmd + " --stop-after repair");
  ASSERT_EQ(blind.status, 0) << blind.output;
  EXPECT_EQ(stage_actions(blind.output)["data"], "skipped") << blind.output;
  EXPECT_EQ(stage_actions(blind.output)["repair"], "running") << blind.output;
  // The detector trained on the log alone: it labels only what it injected itself.
  EXPECT_FALSE(fs::exists(run_dir + "/detect/test/detection.json"));
  const nlohmann::json tuned = nlohmann::json::parse(read_text(run_dir + "/finetune/run/results.json"));
  EXPECT_EQ(tuned["valid_labels_from"], "canaries");
  EXPECT_EQ(tuned["calibration_split"], "train");  // the copy whose canaries the encoder saw
  const nlohmann::json kind = tuned["calibration"]["noise_kind"];
  ASSERT_TRUE(kind.is_object()) << tuned["calibration"].dump();
  EXPECT_GE(kind["uniform_share"].get<double>(), 0.0);
  EXPECT_LE(kind["uniform_share"].get<double>(), 1.0);
  EXPECT_TRUE(tuned["calibration"]["event"].contains("hidden_share")) << tuned["calibration"].dump();
  EXPECT_NE(blind.output.find("finetune: the log's own noise looks"), std::string::npos) << blind.output;
  // Stopped before the report: the last line names the partial report, no other.
  EXPECT_NE(blind.output.find("run: stopped after repair as asked; report of the stages so far in " + run_dir +
                              "/report.partial.md"),
            std::string::npos)
      << blind.output;
  EXPECT_EQ(blind.output.find("report in"), std::string::npos) << blind.output;
  EXPECT_NE(read_text(run_dir + "/report.partial.md").find("stopped after `repair`"), std::string::npos);

  fs::remove_all(truth);
  fs::rename(kept, truth);
  Ran rest = run_shell(cmd);
  ASSERT_EQ(rest.status, 0) << rest.output;
  EXPECT_NE(rest.output.find("run: finished; report in " + run_dir + "/report.md"), std::string::npos) << rest.output;
  auto acts = stage_actions(rest.output);
  for (const char* name : {"data", "pretrain", "finetune", "detect", "repair"}) EXPECT_EQ(acts[name], "skipped") << name;
  nlohmann::json audit = nlohmann::json::parse(read_text(run_dir + "/audit/audit.json"));
  EXPECT_EQ(audit["truth"], "hidden");
  for (const char* split : {"train", "valid", "test"}) {
    const nlohmann::json ev = audit["splits"][split]["detection"]["event"]["overall"];
    EXPECT_GT(ev["positives"].get<int64_t>(), 0) << split;
    EXPECT_TRUE(ev["roc_auc"].is_number()) << split;
    EXPECT_TRUE(audit["splits"][split]["floors"]["popularity"]["event"]["overall"]["roc_auc"].is_number()) << split;
  }
  EXPECT_TRUE(audit["repair"]["train"]["labels"].contains("delete_precision")) << audit["repair"].dump();
  nlohmann::json ev = nlohmann::json::parse(read_text(run_dir + "/evaluate/run/evaluate.json"));
  EXPECT_TRUE(ev["sets"].contains("clean")) << "the clean ceiling comes from the hidden truth";
  // Canaries are the detector encoder's; the recommenders compared on raw, repaired and clean data
  // train without them.
  EXPECT_NE(read_text(run_dir + "/pretrain/run/config.yaml").find("enabled: true"), std::string::npos);
  for (const char* set : {"raw", "repaired", "clean"}) {
    const std::string cfg = read_text(run_dir + "/evaluate/run/" + set + "/config.yaml");
    const size_t at = cfg.find("canaries:");
    ASSERT_NE(at, std::string::npos) << set;
    EXPECT_EQ(cfg.find("enabled: true", at), std::string::npos) << set << ": " << cfg.substr(at, 200);
  }
  const std::string md = read_text(run_dir + "/report.md");
  EXPECT_NE(md.find("**Hidden truth.**"), std::string::npos) << md;
  EXPECT_NE(md.find("| event (delete) |"), std::string::npos) << md;
  EXPECT_NE(md.find("Noise kind: the log's events flagged at the 30 % anchor"), std::string::npos) << md;
}

// evaluate.seeds = 2: each set trained twice with different seeds, the reported metric their mean.
TEST_F(PipelineTest, EvaluateAveragesOverSeeds) {
  const std::string run_dir = (dir_ / "seeds").string();
  std::string yaml = tiny_pipeline(run_dir);
  const size_t at = yaml.find("evaluate: {}");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 12, "evaluate: {seeds: 2}");
  Ran r = run(yaml);
  ASSERT_EQ(r.status, 0) << r.output;
  nlohmann::json ev = nlohmann::json::parse(read_text(run_dir + "/evaluate/run/evaluate.json"));
  EXPECT_EQ(ev["seeds"], 2);
  for (const char* set : {"raw", "repaired", "clean"}) {
    const nlohmann::json& s = ev["sets"][set];
    ASSERT_EQ(s["runs"].size(), 2u) << set;
    EXPECT_NE(s["runs"][0]["seed"], s["runs"][1]["seed"]);
    const double a = s["runs"][0]["test"]["ndcg@10"].get<double>(), b = s["runs"][1]["test"]["ndcg@10"].get<double>();
    EXPECT_DOUBLE_EQ(s["test"]["ndcg@10"].get<double>(), (a + b) / 2) << set;
    for (int k = 0; k < 2; ++k)
      EXPECT_TRUE(fs::is_regular_file(run_dir + "/evaluate/run/" + set + "/seed-" + std::to_string(k) + "/results.json"));
  }
  EXPECT_NE(read_text(run_dir + "/report.md").find("the mean of 2 trainings"), std::string::npos);
  // The recovered share of each seed's three runs, beside the share of the means.
  for (const char* k : {"hr@10", "ndcg@10"}) {
    const nlohmann::json& per = ev["recovered_share_by_seed"][k];
    ASSERT_EQ(per.size(), 2u) << k;
    for (size_t r = 0; r < 2; ++r) {
      const double want = recovered_share(ev["sets"]["raw"]["runs"][r]["test"][k].get<double>(),
                                          ev["sets"]["repaired"]["runs"][r]["test"][k].get<double>(),
                                          ev["sets"]["clean"]["runs"][r]["test"][k].get<double>());
      if (std::isfinite(want))
        EXPECT_DOUBLE_EQ(per[r].get<double>(), want) << k << " seed " << r;
      else
        EXPECT_TRUE(per[r].is_null()) << k << " seed " << r;
    }
  }
  EXPECT_NE(read_text(run_dir + "/report.md").find("Per seed"), std::string::npos);
  // The same share on the valid split's means (held-out targets too, often steadier).
  for (const char* k : {"hr@10", "ndcg@10"}) {
    const double want = recovered_share(ev["sets"]["raw"]["valid"][k].get<double>(),
                                        ev["sets"]["repaired"]["valid"][k].get<double>(),
                                        ev["sets"]["clean"]["valid"][k].get<double>());
    if (std::isfinite(want))
      EXPECT_DOUBLE_EQ(ev["recovered_share_valid"][k].get<double>(), want) << k;
    else
      EXPECT_TRUE(ev["recovered_share_valid"][k].is_null()) << k;
  }
  EXPECT_NE(read_text(run_dir + "/report.md").find("valid NDCG@10 differences over 2 seeds"), std::string::npos);

  // test_inputs = own (the default): the raw and repaired models are served their own histories
  // for the clean users, with the clean targets.
  EXPECT_EQ(ev["test_inputs"], "own");
  const SequenceSet clean = load_split(run_dir + "/data/set/clean", "test");
  for (const char* set : {"raw", "repaired"}) {
    const SequenceSet served = load_split(run_dir + "/evaluate/run/served-test-" + set, "test");
    ASSERT_EQ(served.num_sequences(), clean.num_sequences()) << set;
    for (int64_t q = 0; q < clean.num_sequences(); ++q) {
      EXPECT_EQ(served.user[size_t(q)], clean.user[size_t(q)]);
      EXPECT_EQ(served.item[size_t(served.offsets[size_t(q) + 1] - 1)],
                clean.item[size_t(clean.offsets[size_t(q) + 1] - 1)]);
    }
  }
  // The raw histories hold the injected events the clean ones lack.
  const SequenceSet raw_served = load_split(run_dir + "/evaluate/run/served-test-raw", "test");
  EXPECT_NE(raw_served.num_events(), clean.num_events());
}

// evaluate.pretrain_config: the recommenders train with a config of the user's (here causal) while
// the detector keeps the cloze encoder; editing that file re-runs evaluate alone.
TEST_F(PipelineTest, EvaluateTrainsAGivenRecommenderConfigAndRerunsWhenItChanges) {
  const std::string run_dir = (dir_ / "rec").string(), rec = (dir_ / "recommender.yaml").string();
  auto write_rec = [&](int steps) {
    std::ofstream(rec) << "model: {max_len: 16, d_model: 16, num_layers: 1, num_heads: 2, objective: causal}\n"
                          "global_batch_size: 16\nmax_steps: "
                       << steps << "\neval_every: 4\nlog_every: 2\nthreads: 1\n";
  };
  write_rec(8);
  std::string yaml = tiny_pipeline(run_dir);
  const size_t at = yaml.find("evaluate: {}");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 12, "evaluate: {pretrain_config: " + rec + "}");
  Ran first = run(yaml);
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("evaluate: training 3 of 3: clean data, seed 1 of 1, in " + run_dir +
                              "/evaluate/run/clean\n"),
            std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("evaluate: 2 of 3 done (repaired, seed 1): valid ndcg@10 0."), std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("evaluate: 3 of 3 done (clean, seed 1): valid ndcg@10 0."), std::string::npos)
      << first.output;
  EXPECT_NE(read_text(run_dir + "/pretrain/run/config.yaml").find("objective: cloze"), std::string::npos);
  for (const char* set : {"raw", "repaired", "clean"}) {
    const std::string cfg = read_text(run_dir + "/evaluate/run/" + set + "/config.yaml");
    EXPECT_NE(cfg.find("objective: causal"), std::string::npos) << set << "\n" << cfg;
    EXPECT_NE(cfg.find("max_steps: 8"), std::string::npos) << set;
  }
  Ran again = run(yaml);
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(stage_actions(again.output)["evaluate"], "skipped") << again.output;
  write_rec(6);
  Ran edited = run(yaml);
  ASSERT_EQ(edited.status, 0) << edited.output;
  auto acts = stage_actions(edited.output);
  for (const char* name : {"data", "pretrain", "finetune", "detect", "repair"}) EXPECT_EQ(acts[name], "skipped") << name;
  EXPECT_EQ(acts["evaluate"], "running") << edited.output;
  EXPECT_NE(read_text(run_dir + "/evaluate/run/raw/config.yaml").find("max_steps: 6"), std::string::npos);
}

TEST_F(PipelineTest, UnknownSectionAndStagePathsAreErrors) {
  const std::string run_dir = (dir_ / "bad").string();
  Ran r = run(tiny_pipeline(run_dir) + "pretrian: {}\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("unknown key 'pretrian'"), std::string::npos) << r.output;

  // A path the pipeline owns, set in a section, names the section file.
  Ran p = run("run_dir: " + run_dir + "\npretrain: {data_dir: /elsewhere}\n");
  EXPECT_NE(p.status, 0);
  EXPECT_NE(p.output.find("set by the pipeline"), std::string::npos) << p.output;
}

// Under mpirun: the training stages on both ranks, the rest on rank 0, the same skip decision.
TEST_F(PipelineTest, TwoRanksRunAndSkip) {
  const std::string run_dir = (dir_ / "np2").string();
  std::string file = (dir_ / "np2.yaml").string();
  std::ofstream(file) << tiny_pipeline(run_dir);
  const std::string cmd = "timeout 300 mpirun -np 2 --oversubscribe --allow-run-as-root " + std::string(SEQMEND_BINARY) +
                          " run " + file;
  Ran first = run_shell(cmd);
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_TRUE(fs::is_regular_file(run_dir + "/report.md"));
  Ran second = run_shell(cmd);
  ASSERT_EQ(second.status, 0) << second.output;
  auto acts = stage_actions(second.output);
  for (const auto& name : pipeline_stage_order()) EXPECT_EQ(acts[name], "skipped") << name << "\n" << second.output;
}

TEST(EvaluateStage, RecoveredShare) {
  EXPECT_DOUBLE_EQ(recovered_share(0.2, 0.25, 0.3), 0.5);
  EXPECT_DOUBLE_EQ(recovered_share(0.2, 0.2, 0.3), 0.0);
  EXPECT_DOUBLE_EQ(recovered_share(0.2, 0.35, 0.3), 1.5);  // repaired beats clean: more than all of it
  EXPECT_TRUE(std::isnan(recovered_share(0.2, 0.25, 0.2)));
}

TEST(PipelineSpec, StageKeyHashIsStableAndSensitive) {
  EXPECT_EQ(stage_key_hash("abc"), stage_key_hash("abc"));
  EXPECT_NE(stage_key_hash("abc"), stage_key_hash("abd"));
  EXPECT_EQ(stage_key_hash("").size(), 16u);
  EXPECT_EQ(stage_key_hash(""), "cbf29ce484222325");  // FNV-1a 64 offset basis: the empty input
}

}  // namespace
}  // namespace seqmend
