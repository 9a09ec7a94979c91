#include "experiments/train/train_checkpoint.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/base/error.h"
#include "experiments/run/dp_group.h"
#include "experiments/run/run_dir.h"
#include "experiments/train/trainer.h"
#include "io/config.h"
#include "io/config_impl.h"

namespace seqmend {
namespace {

// The group has no barrier; a one-element sum meets every rank just the same.
void barrier(DataParallelGroup& g) {
  int64_t x = 0;
  g.sum(&x, 1);
}

}  // namespace

uint64_t train_split_fingerprint(const ShardSet& set) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) {
    for (int b = 0; b < 8; ++b) h = (h ^ ((v >> (8 * b)) & 0xff)) * 1099511628211ull;
  };
  for (const ShardEntry& e : set.split("train").shards) {
    mix(e.crc32);
    mix(uint64_t(e.bytes));
  }
  return h;
}

TrainingState training_state(Trainer& t) {
  const LoopProgress& s = t.progress();
  TrainObjective& obj = t.objective();
  TrainingState st;
  st.step = s.step;
  st.epoch = s.step / obj.batches_per_epoch();
  st.config_yaml = obj.config_yaml();
  st.model_yaml = obj.model_yaml();
  obj.put_data_position(st);
  st.counters["data.fingerprint"] = obj.data_fingerprint();
  obj.put_state(st);
  st.counters["train.evals"] = uint64_t(s.evals);
  st.counters["train.best_step"] = uint64_t(s.best_step);
  st.counters["train.evals_since_best"] = uint64_t(s.evals_since_best);
  st.counters["train.tokens"] = uint64_t(s.tokens);
  st.put_double("train.best_metric", s.best_metric);
  st.put_double("train.train_seconds", s.train_seconds);
  st.put_double("train.comm_seconds", s.comm_seconds);
  st.put_double("train.wait_seconds", s.wait_seconds);
  const StepWindow& w = s.window;
  st.counters["train.window.steps"] = uint64_t(w.steps);
  st.counters["train.window.tokens"] = uint64_t(w.tokens);
  st.counters["train.window.samples"] = uint64_t(w.samples);
  st.put_double("train.window.seconds", w.seconds);
  st.put_double("train.window.comm_seconds", w.comm_seconds);
  st.put_double("train.window.wait_seconds", w.wait_seconds);
  st.put_double("train.window.balance", w.balance);
  st.put_double("train.window.balance_max", w.balance_max);
  st.put_double("train.window.loss", w.loss);
  for (int i = 0; i < 3; ++i) st.put_double(str("train.window.loss_part", i), w.loss_parts[i]);
  st.texts["train.best_valid"] = s.best_valid.dump();
  if (!s.best_params.empty()) st.arrays["best_params"] = s.best_params;
  return st;
}

void apply_training_state(Trainer& t, const TrainingState& st, const std::string& from) {
  TrainObjective& obj = t.objective();
  TrainingState now;
  obj.put_data_position(now);
  for (const auto& [key, v] : now.counters) {
    const uint64_t stored = st.counter(key);
    SEQ_CHECK(stored == v, "resume from ", from, ": ", key, " is ", stored, " in the checkpoint but ", v,
              " in this run; the data order would not continue where it stopped",
              " (seed and global_batch_size must stay; the data set must be the same)");
  }
  // Checkpoints written before the fingerprint existed are taken on the data position alone.
  if (st.counters.count("data.fingerprint"))
    SEQ_CHECK(st.counter("data.fingerprint") == obj.data_fingerprint(), "resume from ", from,
              ": the checkpoint was trained on other data than data_dir '", obj.data_dir(),
              "' holds (its train shards differ); resume with the data it was trained on, or start afresh with --overwrite");
  LoopProgress& s = t.progress();
  s.step = st.step;
  s.evals = int64_t(st.counter("train.evals"));
  s.best_step = int64_t(st.counter("train.best_step"));
  s.evals_since_best = int64_t(st.counter("train.evals_since_best"));
  s.tokens = int64_t(st.counter("train.tokens"));
  s.best_metric = st.get_double("train.best_metric");
  s.train_seconds = st.get_double("train.train_seconds");
  s.comm_seconds = st.get_double("train.comm_seconds");
  s.wait_seconds = st.get_double("train.wait_seconds");
  // Checkpoints written before the window was kept start a new one.
  s.window = StepWindow();
  if (st.counters.count("train.window.steps")) {
    StepWindow& w = s.window;
    w.steps = int64_t(st.counter("train.window.steps"));
    w.tokens = int64_t(st.counter("train.window.tokens"));
    w.samples = int64_t(st.counter("train.window.samples"));
    w.seconds = st.get_double("train.window.seconds");
    w.comm_seconds = st.get_double("train.window.comm_seconds");
    w.wait_seconds = st.get_double("train.window.wait_seconds");
    w.balance = st.get_double("train.window.balance");
    w.balance_max = st.get_double("train.window.balance_max");
    w.loss = st.get_double("train.window.loss");
    for (int i = 0; i < 3; ++i) w.loss_parts[i] = st.get_double(str("train.window.loss_part", i));
  }
  auto it = st.texts.find("train.best_valid");
  s.best_valid = it == st.texts.end() ? nlohmann::json() : nlohmann::json::parse(it->second);
  auto a = st.arrays.find("best_params");
  if (a != st.arrays.end()) {
    ItemTransformer* m = obj.evaluated_model();
    const int64_t P = m ? m->params().numel() : 0;
    SEQ_CHECK(int64_t(a->second.size()) == P, "resume from ", from, ": best_params has ", a->second.size(),
              " floats, the model ", P);
    s.best_params = a->second;
  } else {
    s.best_params.clear();
  }
  obj.apply_state(st);
}

TrainCheckpoints::TrainCheckpoints(Trainer& t, RunDir& run, DataParallelGroup& group,
                                         const CheckpointConfig& cfg)
    : t_(t), run_(run), group_(group), ckpt_(run.path(), cfg, group.rank()) {}

int64_t TrainCheckpoints::resume() {
  TrainObjective& obj = t_.objective();
  auto st = ckpt_.restore(obj.checkpoint_buffer(), obj.model_yaml(),
                          [&](const std::string& stored) { return obj.model_yaml_now(stored); });
  const bool rank0 = group_.rank() == 0;
  const std::string stage = obj.stage();
  if (!st) {
    if (rank0) std::printf("%s: resume: no checkpoint in %s, starting at step 0\n", stage.c_str(), run_.path().c_str());
    barrier(group_);  // rank 0 may have removed stale temporaries; nobody writes before that
    return -1;
  }
  obj.checkpoint_restored();
  apply_training_state(t_, *st, ckpt_.restored_path());
  last_saved_ = st->step;
  if (rank0) {
    truncate_metrics_after(run_.file("metrics.jsonl"), st->step);
    std::printf("%s: resumed from %s at step %lld (epoch %lld)\n", stage.c_str(), ckpt_.restored_path().c_str(),
                (long long)st->step, (long long)st->epoch);
    std::fflush(stdout);
  }
  barrier(group_);
  return st->step;
}

void TrainCheckpoints::install() {
  t_.set_step_boundary_hook([this](Trainer& t) {
    if (ckpt_.due(t.progress().step)) save_now();
  });
  t_.set_finish_hook([this](Trainer&) { save_now(); });
}

void claim_run_dir(const std::string& run_dir, bool overwrite, int rank, const std::string& stage) {
  namespace fs = std::filesystem;
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& c : list_checkpoints(run_dir)) found.push_back(c.path);
  for (const char* f : {"latest", "metrics.jsonl", "results.json"})
    if (fs::exists(fs::path(run_dir) / f, ec)) found.push_back((fs::path(run_dir) / f).string());
  // A run.json alone is an earlier start that failed before its first step; with overwrite, the
  // other run's. Either way this start is a new run with an id of its own.
  auto new_run = [&] {
    if (rank == 0) fs::remove(fs::path(run_dir) / "run.json", ec);
  };
  if (found.empty()) return new_run();
  if (!overwrite) {
    std::string list;
    for (size_t i = 0; i < found.size() && i < 4; ++i) list += (i ? ", " : "") + fs::path(found[i]).filename().string();
    if (found.size() > 4) list += ", ...";
    SEQ_FAIL(stage, ": run_dir '", run_dir, "' holds another run (", list,
             "). HINT: --resume continues it; --overwrite (overwrite=true) starts afresh and removes those files");
  }
  new_run();
  if (rank != 0) return;
  for (const std::string& f : found) fs::remove(f, ec);
  std::printf("%s: overwrite: removed %zu files of the earlier run in %s\n", stage.c_str(), found.size(),
              run_dir.c_str());
}

void TrainCheckpoints::save_now() {
  const int64_t step = t_.progress().step;
  if (step == last_saved_) return;
  if (group_.rank() == 0) {
    TrainObjective& obj = t_.objective();
    const TrainingState st = training_state(t_);
    const std::string path = ckpt_.save(obj.checkpoint_buffer(), st);
    std::printf("%s: checkpoint %s\n", obj.stage().c_str(), path.c_str());
    std::fflush(stdout);
  }
  barrier(group_);
  last_saved_ = step;
}

}  // namespace seqmend
