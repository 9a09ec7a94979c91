// `seqmend sweep collect` on fixture run directories (experiments/cli/sweep_collect.h): one row per
// point with its values, parameters, FLOPs, speed and metrics; mean and sample deviation over the
// finished seeds of each config; states from point.json (a record of another key is "changed");
// results.md with the mean table; the same inputs give the same bytes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/cli/model_cost.h"
#include "experiments/cli/sweep_collect.h"
#include "experiments/cli/sweep_point.h"
#include "experiments/train/pretrain_config.h"
#include "io/config.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(slurp(p));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      else if (c == ',' && !quoted) cells.push_back(cell), cell.clear();
      else cell += c;
    }
    cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

class SweepCollectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json sweep = {{"version", 1},     {"file", "s.yaml"},          {"kind", "pretrain"},
                  {"base", "b.yaml"}, {"keys", {"model.d_model"}}, {"points", json::array()}};
    int index = 0;
    for (int d : {8, 16})
      for (int seed : {1, 2}) {
        const std::string name = "d_model=" + std::to_string(d) + ",seed=" + std::to_string(seed);
        sweep["points"].push_back({{"index", index++},
                                   {"name", name},
                                   {"config", "d_model=" + std::to_string(d)},
                                   {"seed", seed},
                                   {"values", {{"model.d_model", std::to_string(d)}}},
                                   {"overrides", json::array()},
                                   {"key", "k" + name}});
      }
    std::ofstream(dir_ / "sweep.json") << sweep.dump(2);
    // d_model=8: both seeds done; d_model=16: seed 1 done, seed 2 failed.
    point("d_model=8,seed=1", 8, "done", 0.30, 0.20);
    point("d_model=8,seed=2", 8, "done", 0.40, 0.30);
    point("d_model=16,seed=1", 16, "done", 0.50, 0.35);
    point("d_model=16,seed=2", 16, "failed", 0, 0);
  }

  // A finished (or failed) pretrain run directory as the trainer leaves it.
  void point(const std::string& name, int d_model, const std::string& state, double valid, double test) {
    const fs::path p = dir_ / name;
    fs::create_directories(p);
    PretrainConfig cfg;
    cfg.model.d_model = d_model;
    cfg.model.num_heads = 2;
    cfg.model.num_items = 40;
    cfg.model.max_len = 20;
    cfg.model.objective = "causal";
    cfg.global_batch_size = 10;
    write_config(cfg, (p / "config.yaml").string());
    write_point_record(p.string(), {{"name", name}, {"key", "k" + name}, {"state", state}, {"seconds", 2.5}});
    if (state != "done") return;
    json results = {{"steps", 10},
                    {"tokens", 1000},
                    {"tokens_per_s", 5000.0},
                    {"train_seconds", 0.2},
                    {"best_step", 10},
                    {"eval_metric", "ndcg@10"},
                    {"valid", {{"hr@10", valid + 0.1}, {"ndcg@10", valid}, {"num_users", 40}}},
                    {"test", {{"hr@10", test + 0.1}, {"ndcg@10", test}, {"hr@5", test}, {"num_users", 40}}}};
    std::ofstream(p / "results.json") << results.dump(2);
    std::ofstream(p / "metrics.jsonl") << "{\"step\": 5, \"loss\": 3.0}\n{\"step\": 10, \"loss\": 2.5}\n";
  }

  test::TempDir tmp_{"seqmend_sweep_collect"};
  fs::path dir_ = tmp_.path();
};

TEST_F(SweepCollectTest, OneRowPerPointWithEveryNumber) {
  json r = collect_sweep(dir_.string(), /*plots=*/false);
  const auto csv = read_csv(dir_ / "results.csv");
  ASSERT_EQ(csv.size(), 5u);
  const std::vector<std::string> head(csv[0].begin(), csv[0].begin() + 12);
  EXPECT_EQ(head, (std::vector<std::string>{"point", "config", "state", "model.d_model", "seed", "params",
                                            "train_flops", "tokens_per_s", "wall_s", "train_s", "steps", "best_step"}));
  const std::vector<std::string> metrics(csv[0].begin() + 12, csv[0].end());
  EXPECT_EQ(metrics,
            (std::vector<std::string>{"valid_hr@10", "valid_ndcg@10", "test_hr@5", "test_hr@10", "test_ndcg@10"}));
  const auto& row = csv[1];
  EXPECT_EQ(row[0], "d_model=8,seed=1");
  EXPECT_EQ(row[1], "d_model=8");
  EXPECT_EQ(row[2], "done");
  EXPECT_EQ(row[3], "8");
  EXPECT_EQ(row[4], "1");
  ModelConfig m;
  m.d_model = 8;
  m.num_heads = 2;
  m.num_items = 40;
  m.max_len = 20;
  m.objective = "causal";
  EXPECT_EQ(row[5], std::to_string(parameter_count(m)));
  // 1000 tokens in 10 steps of 10 sequences: 10 tokens per sequence, 0.9 of them targets.
  EXPECT_DOUBLE_EQ(std::stod(row[6]), train_flops(m, 1000, 900, 10));
  EXPECT_EQ(row[7], "5000.0");
  EXPECT_EQ(row[8], "2.5");
  EXPECT_EQ(row[10], "10");
  EXPECT_EQ(row[13], "0.3");  // valid_ndcg@10
  // The failed point: its state, no numbers from a run.
  EXPECT_EQ(csv[4][2], "failed");
  EXPECT_EQ(csv[4][7], "");
  EXPECT_EQ(r["rows"].size(), 4u);
}

TEST_F(SweepCollectTest, MeanAndDeviationOverFinishedSeeds) {
  collect_sweep(dir_.string(), false);
  const auto csv = read_csv(dir_ / "results_by_config.csv");
  ASSERT_EQ(csv.size(), 3u);
  auto col = [&](const std::string& name) {
    for (size_t i = 0; i < csv[0].size(); ++i)
      if (csv[0][i] == name) return i;
    ADD_FAILURE() << "no column " << name;
    return size_t(0);
  };
  EXPECT_EQ(csv[1][col("config")], "d_model=8");
  EXPECT_EQ(csv[1][col("seeds")], "2");
  EXPECT_NEAR(std::stod(csv[1][col("valid_ndcg@10_mean")]), 0.35, 1e-12);
  EXPECT_NEAR(std::stod(csv[1][col("valid_ndcg@10_std")]), std::sqrt(0.005), 1e-12);  // sample deviation
  // One finished seed: a mean, no deviation.
  EXPECT_EQ(csv[2][col("seeds")], "1");
  EXPECT_NEAR(std::stod(csv[2][col("test_ndcg@10_mean")]), 0.35, 1e-12);
  EXPECT_EQ(csv[2][col("test_ndcg@10_std")], "");
  const std::string md = slurp(dir_ / "results.md");
  EXPECT_NE(md.find("| d_model=8 | 8 | 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("0.3500 ± 0.0707"), std::string::npos) << md;
  EXPECT_NE(md.find("| d_model=16,seed=2 | failed |"), std::string::npos) << md;
  EXPECT_NE(md.find("Not drawn."), std::string::npos);
}

TEST_F(SweepCollectTest, StatesAreRefreshedAndOldRecordsAreChanged) {
  write_point_record((dir_ / "d_model=8,seed=2").string(), {{"key", "an older config"}, {"state", "done"}});
  collect_sweep(dir_.string(), false);
  const auto csv = read_csv(dir_ / "results.csv");
  EXPECT_EQ(csv[2][2], "changed");
  std::ifstream f(dir_ / "sweep.json");
  const json sweep = json::parse(f);
  EXPECT_EQ(sweep["points"][1]["status"], "changed");
  EXPECT_EQ(sweep["points"][3]["status"], "failed");
  // Not a finished seed of its config any more.
  EXPECT_EQ(read_csv(dir_ / "results_by_config.csv")[1][2], "1");
}

TEST_F(SweepCollectTest, SameInputsSameBytes) {
  collect_sweep(dir_.string(), false);
  const std::string a = slurp(dir_ / "results.csv"), b = slurp(dir_ / "results_by_config.csv");
  collect_sweep(dir_.string(), false);
  EXPECT_EQ(slurp(dir_ / "results.csv"), a);
  EXPECT_EQ(slurp(dir_ / "results_by_config.csv"), b);
  EXPECT_EQ(sweep_csv(json::array({"a", "b"}), json::array({{{"a", "x,y"}, {"b", 1.5}}})), "a,b\n\"x,y\",1.5\n");
}

}  // namespace
}  // namespace seqmend
