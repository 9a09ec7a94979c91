// Sweep files (experiments/cli/sweep_spec.h): the grid, zip groups, explicit points and seeds expand to
// the right points in the right order, points are named from their overrides (stable, safe as file
// names, unique), and every mistake in the file is an error naming file:line:col and the key path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "experiments/cli/sweep_spec.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

class SweepSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = (dir_ / "base.yaml").string();
    std::ofstream(base_) << "model:\n  d_model: 16\nmax_steps: 5\n";
  }

  std::string write(const std::string& text) {
    const std::string p = (dir_ / "sweep.yaml").string();
    std::ofstream(p) << text;
    return p;
  }
  SweepSpec read(const std::string& body) { return read_sweep_spec(write("base: " + base_ + "\n" + body)); }
  // The message of the error reading `text`, or "" when it reads.
  std::string error_of(const std::string& text) {
    try {
      read_sweep_spec(write(text));
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  std::string file() const { return (dir_ / "sweep.yaml").string(); }

  static std::vector<std::string> names(const SweepSpec& s) {
    std::vector<std::string> out;
    for (const auto& p : s.points) out.push_back(p.name);
    return out;
  }

  test::TempDir tmp_{"seqmend_sweep_spec"};
  fs::path dir_ = tmp_.path();
  std::string base_;
};

TEST_F(SweepSpecTest, GridIsACartesianProductFirstKeySlowestSeedsInnermost) {
  SweepSpec s = read("grid:\n  model.d_model: [32, 64]\n  model.num_layers: [1, 2, 3]\nseeds: [1, 2]\n");
  EXPECT_EQ(s.kind, "pretrain");
  ASSERT_EQ(s.points.size(), 12u);
  EXPECT_EQ(s.points[0].name, "d_model=32,num_layers=1,seed=1");
  EXPECT_EQ(s.points[1].name, "d_model=32,num_layers=1,seed=2");
  EXPECT_EQ(s.points[2].name, "d_model=32,num_layers=2,seed=1");
  EXPECT_EQ(s.points[11].name, "d_model=64,num_layers=3,seed=2");
  EXPECT_EQ(s.points[11].config, "d_model=64,num_layers=3");
  for (size_t i = 0; i < s.points.size(); ++i) EXPECT_EQ(s.points[i].index, int64_t(i));
  // Overrides: the values, then each seed key.
  const auto& o = s.points[3].overrides;
  ASSERT_EQ(o.size(), 4u);
  EXPECT_EQ(o[0].override_text(), "model.d_model=32");
  EXPECT_EQ(o[1].override_text(), "model.num_layers=2");
  EXPECT_EQ(o[2].override_text(), "seed=2");
  EXPECT_EQ(o[3].override_text(), "model.seed=2");
  EXPECT_EQ(s.keys, (std::vector<std::string>{"model.d_model", "model.num_layers"}));
}

TEST_F(SweepSpecTest, ZipGroupsVaryTogetherAndMultiplyWithTheGrid) {
  SweepSpec s =
      read("grid:\n  model.num_layers: [1, 2]\nzip:\n  - model.d_model: [64, 128]\n    optim.lr: [0.001, 0.0005]\n");
  EXPECT_EQ(names(s),
            (std::vector<std::string>{"num_layers=1,d_model=64,lr=0.001", "num_layers=1,d_model=128,lr=0.0005",
                                      "num_layers=2,d_model=64,lr=0.001", "num_layers=2,d_model=128,lr=0.0005"}));
  // One group may be written without the list.
  SweepSpec one = read("zip:\n  model.d_model: [64, 128]\n  optim.lr: [0.001, 0.0005]\n");
  EXPECT_EQ(names(one), (std::vector<std::string>{"d_model=64,lr=0.001", "d_model=128,lr=0.0005"}));
}

TEST_F(SweepSpecTest, ExplicitPointsComeAfterTheGridAndNameOnlyTheirOwnKeys) {
  SweepSpec s = read(
      "grid:\n  model.d_model: [32]\npoints:\n  - {model.d_model: 256, model.num_layers: 4}\n"
      "  - {optim.lr: 0.01}\n");
  EXPECT_EQ(names(s), (std::vector<std::string>{"d_model=32", "d_model=256,num_layers=4", "lr=0.01"}));
  EXPECT_EQ(s.keys, (std::vector<std::string>{"model.d_model", "model.num_layers", "optim.lr"}));
  // Points alone: no grid point is added.
  EXPECT_EQ(names(read("points:\n  - {max_steps: 3}\n")), (std::vector<std::string>{"max_steps=3"}));
  // Nothing varied: one point, the base.
  EXPECT_EQ(names(read("")), (std::vector<std::string>{"base"}));
  EXPECT_EQ(names(read("seeds: [7]\n")), (std::vector<std::string>{"seed=7"}));
}

TEST_F(SweepSpecTest, SetAppliesToEveryPointWithoutNamingIt) {
  SweepSpec s = read("set:\n  data_dir: /tmp/d\ngrid:\n  max_steps: [1, 2]\n");
  ASSERT_EQ(s.points.size(), 2u);
  EXPECT_EQ(s.points[0].name, "max_steps=1");
  EXPECT_EQ(s.points[0].overrides[0].override_text(), "data_dir=/tmp/d");
}

TEST_F(SweepSpecTest, NamesUseTheShortestUniqueSuffixAndStayStableWhenValuesAreAdded) {
  SweepSpec s = read("grid:\n  optim.lr: [0.1]\n  canaries.lr: [0.2]\n  model.d_model: [8]\n");
  EXPECT_EQ(s.points[0].name, "optim.lr=0.1,canaries.lr=0.2,d_model=8");
  // A grid key whose last part is `seed` is not confused with the seeds.
  SweepSpec c = read("grid:\n  canaries.seed: [5]\nseeds: [1]\n");
  EXPECT_EQ(c.points[0].name, "canaries.seed=5,seed=1");
  const std::string before = read("grid:\n  model.d_model: [32, 64]\n").points[1].name;
  const std::string after = read("grid:\n  model.d_model: [16, 32, 64]\n").points[2].name;
  EXPECT_EQ(before, after);
}

TEST_F(SweepSpecTest, NamesAreSafeAsFileNamesAndDistinct) {
  EXPECT_EQ(filesystem_safe("a/b c:d"), "a_b_c_d");
  EXPECT_EQ(filesystem_safe("1e-3"), "1e-3");
  EXPECT_EQ(filesystem_safe(""), "_");
  // Two values that sanitise alike get a hash suffix each; sequences join with '-'.
  SweepSpec s = read("grid:\n  run_dir: [a/b, a_b]\n  eval.ks: [[5, 10]]\n");
  ASSERT_EQ(s.points.size(), 2u);
  EXPECT_NE(s.points[0].name, s.points[1].name);
  EXPECT_EQ(s.points[0].name.rfind("run_dir=a_b,ks=5-10~", 0), 0u) << s.points[0].name;
  EXPECT_EQ(s.points[0].values[1].yaml, "[5, 10]");
  for (const auto& p : s.points) EXPECT_EQ(p.name.find('/'), std::string::npos);
  // A very long value is cut, with a hash.
  SweepSpec l = read("grid:\n  data_dir: [" + std::string(300, 'x') + "]\n");
  EXPECT_LE(l.points[0].name.size(), 160u);
}

TEST_F(SweepSpecTest, QuotedValuesStayStrings) {
  SweepSpec s = read("grid:\n  eval_metric: [\"0.1\", 'yes', plain]\n");
  EXPECT_EQ(s.points[0].values[0].yaml, "\"0.1\"");
  EXPECT_EQ(s.points[1].values[0].yaml, "\"yes\"");
  EXPECT_EQ(s.points[2].values[0].yaml, "plain");
  EXPECT_EQ(s.points[0].name, "eval_metric=0.1");
}

TEST_F(SweepSpecTest, KindFollowsTheBaseUnlessGiven) {
  std::ofstream(dir_ / "pipe.yaml") << "run_dir: x\ndata: simulate\npretrain:\n  max_steps: 2\n";
  SweepSpec p =
      read_sweep_spec(write("base: " + (dir_ / "pipe.yaml").string() + "\ngrid:\n  pretrain.max_steps: [1]\n"));
  EXPECT_EQ(p.kind, "pipeline");
  EXPECT_EQ(p.seed_keys, (std::vector<std::string>{"pretrain.seed", "pretrain.model.seed"}));
  EXPECT_EQ(read("kind: pretrain\n").kind, "pretrain");
}

TEST_F(SweepSpecTest, InlineBaseKeepsTheSweepFilesLinesAndColumns) {
  SweepSpec s =
      read_sweep_spec(write("# a sweep\nbase:\n  model:\n    d_model: 16\n  max_steps: 5\ngrid:\n  seed: [1]\n"));
  EXPECT_TRUE(s.base_path.empty());
  EXPECT_EQ(s.base_origin, file());
  // Line 3 of the file is line 3 of the base text; the lines outside the base are blank.
  std::vector<std::string> lines;
  std::istringstream in(s.base_text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "");
  EXPECT_EQ(lines[2], "  model:");
  EXPECT_EQ(lines[4], "  max_steps: 5");
  EXPECT_EQ(lines[5], "");
  // A flow mapping on the key's line.
  SweepSpec f = read_sweep_spec(write("base: {max_steps: 5}\n"));
  EXPECT_EQ(f.base_text.substr(0, f.base_text.find('\n')), "      {max_steps: 5}");
}

TEST_F(SweepSpecTest, MistakesNameFileLineColumnAndKeyPath) {
  const std::string b = "base: " + base_ + "\n";
  const std::string f = file();
  EXPECT_EQ(error_of(b + "gird:\n  model.d_model: [8]\n"), f + ":2:1: gird: unknown key (did you mean `grid`?)");
  EXPECT_EQ(error_of(b + "grid:\n  model.d_model: 8\n"),
            f + ":3:18: grid.model.d_model: expected a non-empty list (model.d_model: [32, 64]), got `8`");
  EXPECT_EQ(error_of(b + "grid:\n  model.d_model: []\n"),
            f + ":3:18: grid.model.d_model: expected a non-empty list (model.d_model: [32, 64]), got []");
  EXPECT_EQ(error_of(b + "grid:\n  model: {d_model: [8]}\n"),
            f + ":3:10: grid.model: expected a non-empty list (model.d_model: [32, 64]), got a mapping");
  EXPECT_EQ(error_of(b + "grid:\n  model.d_model: [8, {a: 1}]\n"),
            f + ":3:22: grid.model.d_model[1]: expected a value, got a mapping (write nested keys as dotted paths: "
                "model.d_model)");
  EXPECT_EQ(error_of(b + "grid:\n  model.d_model: [8]\n  model.d_model: [9]\n"),
            f + ":4:3: grid.model.d_model: duplicate key (first at line 3)");
  EXPECT_EQ(error_of(b + "grid:\n  model..x: [8]\n"),
            f + ":3:3: grid.model..x: keys must be dotted config paths such as model.d_model");
  EXPECT_EQ(error_of(b + "zip:\n  - model.d_model: [8, 16]\n    optim.lr: [0.1]\n"),
            f + ":4:15: zip[0].optim.lr: 1 value, but `model.d_model` (line 3) has 2: keys zipped together need lists "
                "of one length");
  EXPECT_EQ(error_of(b + "grid:\n  optim.lr: [0.1]\nzip:\n  - optim.lr: [0.2]\n"),
            f + ":5:5: zip[0].optim.lr: `optim.lr` is already varied or set by grid at line 3 (a key takes its values "
                "from one place)");
  EXPECT_EQ(error_of(b + "set:\n  max_steps: 1\npoints:\n  - {max_steps: 2}\n"),
            f + ":5:6: points[0].max_steps: `max_steps` is set for every point by set at line 3");
  EXPECT_EQ(error_of(b + "points:\n  - {max_steps: 2}\n  - {max_steps: 2}\n"),
            f + ":4:5: points: the point (max_steps=2) is given twice");
  EXPECT_EQ(error_of(b + "grid:\n  max_steps: [2, 2]\n"), f + ": grid: the point (max_steps=2) is given twice");
  EXPECT_EQ(error_of(b + "seeds: [1, -2]\n"), f + ":2:12: seeds[1]: expected an unsigned integer, got `-2`");
  EXPECT_EQ(error_of(b + "seeds: [1, 1]\n"), f + ":2:12: seeds[1]: seed 1 is listed twice");
  EXPECT_EQ(error_of(b + "grid:\n  seed: [1]\nseeds: [1]\n"),
            f + ": seed: set by the seeds (seed_keys) and by grid at line 3; give it in one place");
  EXPECT_EQ(error_of(b + "kind: pipelin\n"),
            f + ":2:7: kind: `pipelin` is not one of: pretrain, pipeline (did you mean `pipeline`?)");
  EXPECT_EQ(error_of("grid:\n  seed: [1]\n"), f + ": base: required (a config file's path, or the config inline)");
  EXPECT_EQ(error_of("base: nowhere.yaml\n").rfind(f + ":1:7: base: no config file `nowhere.yaml`", 0), 0u);
  EXPECT_EQ(error_of("base: [1]\n"),
            f + ":1:7: base: expected a config file's path or an inline mapping, got a sequence");
  EXPECT_EQ(error_of(b + "grid: [1\n").rfind(f + ":", 0), 0u);  // a YAML syntax error, with its place
  EXPECT_EQ(error_of("[1, 2]\n"), f + ": the top level must be a mapping (base:, grid:, seeds: ...)");
}

}  // namespace
}  // namespace seqmend
