#include "experiments/evaluate_stage.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/base/error.h"
#include "experiments/dp_group.h"
#include "experiments/pretrain_config.h"
#include "experiments/rec_eval.h"
#include "experiments/run_dir.h"
#include "experiments/trainer.h"
#include "io/atomic_file.h"
#include "io/shard_set.h"

namespace fs = std::filesystem;

namespace seqmend {

double recovered_share(double raw, double repaired, double clean) {
  double d = clean - raw;
  if (d == 0.0 || !std::isfinite(d)) return std::nan("");
  return (repaired - raw) / d;
}

namespace {

nlohmann::json train_and_test(const PretrainConfig& base, const std::string& data_dir, const std::string& test_dir,
                              const std::string& run_dir, DataParallelGroup& group) {
  PretrainConfig cfg = base;
  cfg.data_dir = data_dir;
  cfg.run_dir = run_dir;
  cfg.resume = false;
  cfg.validate();
  if (group.rank() == 0 && fs::exists(run_dir)) fs::remove_all(run_dir);
  group.check_all(true, "evaluate: clearing " + run_dir);
  RunDir run(run_dir, group.rank(), group.size());
  group.check_all(true, "evaluate: creating " + run_dir);
  Trainer trainer(cfg, group, &run);
  // Selection on the set's own valid split; the test targets are the same for every set.
  ShardSet own = ShardSet::open(data_dir);
  ShardSet test = ShardSet::open(test_dir);
  auto own_eval = make_split_evaluator(own, cfg.eval, group.comm());
  auto test_eval = make_split_evaluator(test, cfg.eval, group.comm());
  trainer.set_evaluator([&](Bert4Rec& model, const std::string& split) {
    return split == "test" ? test_eval(model, split) : own_eval(model, split);
  });
  PretrainConfig resolved = trainer.config();
  run.write_config(resolved);
  run.write_run_info({{"stage", "evaluate"}, {"train_data", data_dir}, {"test_data", test_dir}});
  nlohmann::json results = trainer.run();
  SEQ_CHECK(results.contains("test"), "evaluate: training on ", data_dir,
            " gave no test metrics (eval_test off, or no test split in ", test_dir, ")");
  return results;
}

// The mean over runs of every number in runs[i][key]; other fields (the protocol) from the first.
nlohmann::json mean_metrics(const nlohmann::json& runs, const char* key) {
  nlohmann::json out = runs[0][key];
  if (!out.is_object()) return out;
  for (auto& [k, v] : out.items()) {
    if (!v.is_number() || k == "num_users") continue;
    double sum = 0;
    for (const auto& r : runs) sum += r[key].value(k, std::nan(""));
    v = sum / double(runs.size());
  }
  return out;
}

}  // namespace

nlohmann::json run_evaluate(EvaluateConfig& cfg, DataParallelGroup& group) {
  SEQ_CHECK(!cfg.pretrain_config.empty(), "evaluate: pretrain_config is required");
  SEQ_CHECK(!cfg.raw_dir.empty() && !cfg.repaired_dir.empty(), "evaluate: raw_dir and repaired_dir are required");
  SEQ_CHECK(!cfg.run_dir.empty(), "evaluate: run_dir is required");
  PretrainConfig base = load_config<PretrainConfig>(cfg.pretrain_config);
  base.eval_test = true;
  const std::string test_dir = cfg.clean_dir.empty() ? cfg.raw_dir : cfg.clean_dir;

  nlohmann::json out = {{"test_targets", test_dir}, {"pretrain_config", cfg.pretrain_config}};
  nlohmann::json sets = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> runs = {{"raw", cfg.raw_dir}, {"repaired", cfg.repaired_dir}};
  if (!cfg.clean_dir.empty()) runs.push_back({"clean", cfg.clean_dir});
  for (const auto& [name, dir] : runs) {
    nlohmann::json per_seed = nlohmann::json::array();
    // A run directory of another seed count must not leave its files beside these.
    if (group.rank() == 0 && fs::exists(cfg.run_dir + "/" + name)) fs::remove_all(cfg.run_dir + "/" + name);
    group.check_all(true, "evaluate: clearing " + cfg.run_dir + "/" + name);
    for (int64_t k = 0; k < cfg.seeds; ++k) {
      PretrainConfig seeded = base;
      seeded.seed = base.seed + uint64_t(k);
      seeded.model.seed = base.model.seed + uint64_t(k);
      const std::string sub = cfg.run_dir + "/" + name + (cfg.seeds > 1 ? "/seed-" + std::to_string(k) : "");
      nlohmann::json r = train_and_test(seeded, dir, test_dir, sub, group);
      per_seed.push_back({{"seed", seeded.seed}, {"test", r["test"]}, {"valid", r.value("valid", nlohmann::json())},
                          {"steps", r.value("steps", nlohmann::json())}});
    }
    sets[name] = {{"data", dir},
                  {"test", mean_metrics(per_seed, "test")},
                  {"valid", mean_metrics(per_seed, "valid")},
                  {"steps", per_seed[0]["steps"]},
                  {"runs", per_seed}};
  }
  out["seeds"] = cfg.seeds;
  out["sets"] = sets;
  nlohmann::json share = nlohmann::json::object();
  if (sets.contains("clean")) {
    for (const auto& [k, v] : sets["raw"]["test"].items()) {
      if (!v.is_number() || (k.rfind("hr@", 0) != 0 && k.rfind("ndcg@", 0) != 0 && k != "mrr")) continue;
      double raw = v.get<double>();
      double rep = sets["repaired"]["test"].value(k, std::nan(""));
      double cln = sets["clean"]["test"].value(k, std::nan(""));
      double s = recovered_share(raw, rep, cln);
      share[k] = std::isfinite(s) ? nlohmann::json(s) : nlohmann::json(nullptr);
    }
  }
  out["recovered_share"] = share;
  if (group.rank() == 0) write_file_atomic(cfg.run_dir + "/evaluate.json", out.dump(2) + "\n");
  return out;
}

}  // namespace seqmend
