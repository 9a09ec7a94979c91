#include "experiments/cli/evaluate_stage.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <unordered_map>

#include "core/base/error.h"
#include "experiments/run/dp_group.h"
#include "experiments/train/pretrain_config.h"
#include "experiments/eval/rank_file.h"
#include "experiments/eval/rec_eval.h"
#include "experiments/run/resume_or_clear.h"
#include "experiments/run/run_dir.h"
#include "experiments/train/train_checkpoint.h"
#include "experiments/train/train_objective.h"
#include "experiments/train/trainer.h"
#include "experiments/eval/user_bootstrap.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/shard_set.h"

namespace fs = std::filesystem;

namespace seqmend {

double recovered_share(double raw, double repaired, double clean) {
  double d = clean - raw;
  if (d == 0.0 || !std::isfinite(d)) return std::nan("");
  return (repaired - raw) / d;
}

namespace {

struct TrainedSet {
  nlohmann::json results;
  UserRanks ranks;       // per-user ranks with the parameters best on valid (ranks.csv)
  bool stopped = false;    // a stop signal ended the training; its checkpoint is saved
  bool read_back = false;  // finished before and read back (takes no time)
};

// One recommender trained on `data_dir` and scored on test_dir's test split. `resume`: a finished
// training in run_dir is read back; a stopped one continues from its checkpoint; else afresh.
TrainedSet train_and_test(const PretrainConfig& base, const std::string& data_dir, const std::string& test_dir,
                          const std::string& run_dir, bool resume, DataParallelGroup& group) {
  PretrainConfig cfg = base;
  cfg.data_dir = data_dir;
  cfg.run_dir = run_dir;
  cfg.resume = false;
  // Canaries calibrate the detector's encoder; in the recommender they would corrupt raw, repaired
  // and clean data alike and blur the comparison.
  cfg.canaries.enabled = false;
  cfg.validate();
  if (group.all_agree(resume && fs::is_regular_file(run_dir + "/ranks.csv"))) {
    // Finished before: ranks.csv is written last, after results.json.
    if (group.rank() == 0) std::printf("evaluate: %s finished before, read back\n", run_dir.c_str());
    TrainedSet t;
    t.read_back = true;
    t.ranks = read_rank_file(run_dir + "/ranks.csv");
    t.results = read_json_file(run_dir + "/results.json", "evaluate");
    return t;
  }
  const bool from_checkpoint = resume_or_clear(run_dir, resume, group, "evaluate");
  RunDir run(run_dir, group.rank(), group.size());
  group.check_all(true, "evaluate: creating " + run_dir);
  Trainer trainer(cfg, group, &run);
  // Selection on the set's own valid split; the test targets are the same for every set.
  EvalConfig valid_cfg = cfg.eval, test_cfg = cfg.eval;
  valid_cfg.split = "valid";
  test_cfg.split = "test";
  const RecEvaluator valid_eval(ShardSet::open(data_dir), valid_cfg, group.comm());
  const RecEvaluator test_eval(ShardSet::open(test_dir), test_cfg, group.comm());
  trainer.set_evaluator([&](ItemTransformer& model, const std::string& split) {
    return (split == "test" ? test_eval : valid_eval).evaluate(model, group.comm());
  });
  PretrainConfig resolved = trainer.config();
  run.write_config(resolved);
  run.write_run_info({{"stage", "evaluate"}, {"train_data", data_dir}, {"test_data", test_dir}});
  // Checkpoints only where a stop signal ends the training: a finished one is kept as its ranks.
  TrainCheckpoints ckpts(trainer, run, group, cfg.checkpoint);
  if (from_checkpoint) ckpts.resume();
  TrainedSet t;
  t.results = trainer.run();
  if (t.results.value("stopped", false)) {
    ckpts.save_now();
    t.stopped = true;
    return t;
  }
  SEQ_CHECK(t.results.contains("test"), "evaluate: training on ", data_dir,
            " gave no test metrics (eval_test off, or no test split in ", test_dir, ")");
  trainer.load_best_params();
  t.ranks.valid = valid_eval.all_ranks(trainer.model(), group.comm());
  t.ranks.test = test_eval.all_ranks(trainer.model(), group.comm());
  if (group.rank() == 0) {
    write_rank_file(run.file("ranks.csv"), t.ranks);
    // ranks.csv stands for the training now; its checkpoints would only take disk space.
    for (const CheckpointFile& c : list_checkpoints(run_dir)) fs::remove(c.path);
    fs::remove(run_dir + "/latest");
  }
  group.check_all(true, "evaluate: writing " + run_dir + "/ranks.csv");
  return t;
}

// Where evaluate's trainings stand, for the progress line after each: "evaluate: 4 of 24 done
// (repaired, seed 1): valid ndcg@10 0.0560, test ndcg@10 0.0531; about 22m left". The estimate is
// the mean time of the trainings this run made (read-back ones take none).
struct TrainingCount {
  int64_t total = 0, started = 0, trained = 0;
  double trained_seconds = 0;

  void finished(const TrainedSet& t, double seconds) {
    ++started;
    if (t.read_back) return;
    ++trained;
    trained_seconds += seconds;
  }
  std::string line(const std::string& set, int64_t k, const nlohmann::json& results, const std::string& metric) const {
    auto value = [&](const char* split) {
      const nlohmann::json at = results.is_object() ? results.value(split, nlohmann::json()) : nlohmann::json();
      const nlohmann::json m = at.is_object() ? at.value(metric, nlohmann::json()) : nlohmann::json();
      char v[32] = "-";
      if (m.is_number()) std::snprintf(v, sizeof v, "%.4f", m.get<double>());
      return str(split, " ", metric, " ", v);
    };
    std::string out = str("evaluate: ", started, " of ", total, " done (", set, ", seed ", k + 1, "): ",
                          value("valid"), ", ", value("test"));
    if (started < total && trained > 0)
      out += "; about " + format_duration(trained_seconds / double(trained) * double(total - started)) + " left";
    return out;
  }
};

// Test sequence of each user in `set` (the last one wins; users are unique per split).
std::unordered_map<int64_t, int64_t> rows_by_user(const SequenceSet& set) {
  std::unordered_map<int64_t, int64_t> rows;
  for (int64_t q = 0; q < set.num_sequences(); ++q) rows[set.user[size_t(q)]] = q;
  return rows;
}

// A shard set whose test split holds, for every user of the clean test split, that user's test
// sequence as `own_dir` has it (or its quarantine/, where repair moved it): the history a model
// trained on `own_dir` would be served. The last event must be the clean target — corruption and
// repair leave the last protect_last events alone — so every model is scored on the same targets.
void write_served_test_set(const std::string& own_dir, const std::string& clean_dir, const std::string& out) {
  const ShardSet own_set = ShardSet::open(own_dir);
  const SequenceSet own = load_split(own_set, "test"), clean = load_split(clean_dir, "test");
  SequenceSet quarantined;
  if (fs::exists(own_dir + "/quarantine/manifest.json")) quarantined = load_split(own_dir + "/quarantine", "test");
  const auto own_rows = rows_by_user(own), q_rows = rows_by_user(quarantined);
  SequenceSet view;
  for (int64_t c = 0; c < clean.num_sequences(); ++c) {
    const int64_t u = clean.user[size_t(c)];
    const SequenceSet* from = &own;
    auto it = own_rows.find(u);
    if (it == own_rows.end()) {
      it = q_rows.find(u);
      from = &quarantined;
      SEQ_CHECK(it != q_rows.end(), "evaluate: user ", u, " of the clean test split of ", clean_dir,
                " is in neither the test split nor the quarantine of ", own_dir);
    }
    const int64_t q = it->second, n = from->length(q), e = from->offsets[size_t(q)];
    SEQ_CHECK(n > 0 && from->item[size_t(e + n - 1)] == clean.item[size_t(clean.offsets[size_t(c) + 1] - 1)],
              "evaluate: user ", u, " has another test target in ", own_dir, " than in ", clean_dir,
              " (test_inputs=own needs the last events left alone, e.g. protect_last >= 2)");
    view.append(u, from->item.data() + e, n, from->has_timestamps() ? from->timestamp.data() + e : nullptr,
                from->has_actions() ? from->action.data() + e : nullptr);
  }
  ManifestInfo info;
  info.num_items = own_set.num_items();
  info.source = "seqmend evaluate: test histories of " + own_dir + " for the users and targets of " + clean_dir;
  ShardOptions opts;
  opts.overwrite = true;
  opts.fsync = false;  // a scratch view, rebuilt on every run
  write_shard_set(out, info, {{"test", view}}, opts);
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

nlohmann::json run_evaluate(EvaluateConfig& cfg, DataParallelGroup& group, bool resume) {
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
  const bool served = cfg.test_inputs == "own" && !cfg.clean_dir.empty();
  out["test_inputs"] = served ? "own" : "clean";
  std::map<std::string, std::map<std::string, SeedRanks>> ranks;  // set → split → per-seed ranks
  TrainingCount count{int64_t(runs.size()) * cfg.seeds};
  for (const auto& [name, dir] : runs) {
    nlohmann::json per_seed = nlohmann::json::array();
    // A run directory of another seed count must not leave its files beside these.
    const std::string set_dir = cfg.run_dir + "/" + name;
    if (group.rank() == 0 && !resume && fs::exists(set_dir)) fs::remove_all(set_dir);
    group.check_all(true, "evaluate: clearing " + set_dir);
    std::string set_test_dir = test_dir;
    if (served && name != "clean") {
      set_test_dir = cfg.run_dir + "/served-test-" + name;  // outside set_dir, which training clears
      bool ok = true;
      std::string err;
      if (group.rank() == 0) {
        try {
          write_served_test_set(dir, cfg.clean_dir, set_test_dir);
        } catch (const std::exception& e) {
          ok = false;
          err = e.what();
        }
      }
      group.check_all(ok, err.empty() ? "evaluate: writing " + set_test_dir : err);
    }
    for (int64_t k = 0; k < cfg.seeds; ++k) {
      PretrainConfig seeded = base;
      seeded.seed = base.seed + uint64_t(k);
      seeded.model.seed = base.model.seed + uint64_t(k);
      const std::string sub = set_dir + (cfg.seeds > 1 ? "/seed-" + std::to_string(k) : "");
      if (group.rank() == 0)
        std::printf("evaluate: training %lld of %lld: %s data, seed %lld of %lld, in %s\n", (long long)count.started + 1,
                    (long long)count.total, name.c_str(), (long long)k + 1, (long long)cfg.seeds, sub.c_str());
      const auto t0 = std::chrono::steady_clock::now();
      TrainedSet t = train_and_test(seeded, dir, set_test_dir, sub, resume, group);
      count.finished(t, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (group.rank() == 0 && !t.stopped) std::printf("%s\n", count.line(name, k, t.results, base.eval_metric).c_str());
      if (t.stopped) return {{"stopped", true}, {"steps", t.results.value("steps", nlohmann::json())}, {"in", sub}};
      const nlohmann::json& r = t.results;
      ranks[name]["valid"].push_back(std::move(t.ranks.valid));
      ranks[name]["test"].push_back(std::move(t.ranks.test));
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
  nlohmann::json share = nlohmann::json::object(), by_seed = nlohmann::json::object(),
                 share_valid = nlohmann::json::object();
  auto share_json = [](const nlohmann::json& raw, const nlohmann::json& rep, const nlohmann::json& cln,
                       const std::string& k) {
    const double s = recovered_share(raw.value(k, std::nan("")), rep.value(k, std::nan("")), cln.value(k, std::nan("")));
    return std::isfinite(s) ? nlohmann::json(s) : nlohmann::json(nullptr);
  };
  if (sets.contains("clean")) {
    for (const auto& [k, v] : sets["raw"]["test"].items()) {
      if (!v.is_number() || (k.rfind("hr@", 0) != 0 && k.rfind("ndcg@", 0) != 0 && k != "mrr")) continue;
      share[k] = share_json(sets["raw"]["test"], sets["repaired"]["test"], sets["clean"]["test"], k);
      // The valid targets (held out from training like the test ones, and the split early stopping
      // picks the checkpoint on, for every set alike) are a second, often steadier, reading.
      share_valid[k] = share_json(sets["raw"]["valid"], sets["repaired"]["valid"], sets["clean"]["valid"], k);
      // Seed k of every set shares its data order and initial weights: the spread of these shows
      // how much of the mean share is training luck.
      by_seed[k] = nlohmann::json::array();
      for (size_t r = 0; r < sets["raw"]["runs"].size(); ++r)
        by_seed[k].push_back(share_json(sets["raw"]["runs"][r]["test"], sets["repaired"]["runs"][r]["test"],
                                        sets["clean"]["runs"][r]["test"], k));
    }
  }
  // How much of each difference is which users happen to be the targets: a paired bootstrap over
  // users, on the metric early stopping selects by and on hr@10.
  nlohmann::json paired = nlohmann::json::object();
  const std::string selected = base.eval_metric;
  for (const std::string split : {"valid", "test"}) {
    for (const std::string& metric : {selected, std::string("hr@10")}) {
      BootstrapConfig bc;
      const size_t at = metric.find('@');
      bc.metric = metric.substr(0, at);
      if (at != std::string::npos) bc.k = std::stoll(metric.substr(at + 1));
      if (paired[split].contains(metric)) continue;
      paired[split][metric] = paired_user_bootstrap(ranks["raw"][split], ranks["repaired"][split],
                                                     sets.contains("clean") ? ranks["clean"][split] : SeedRanks{}, bc);
    }
  }
  out["paired_users"] = paired;
  out["recovered_share"] = share;
  out["recovered_share_by_seed"] = by_seed;
  out["recovered_share_valid"] = share_valid;
  if (group.rank() == 0) write_file_atomic(cfg.run_dir + "/evaluate.json", out.dump(2) + "\n");
  return out;
}

}  // namespace seqmend
