#include "experiments/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/base/error.h"
#include "experiments/eval/rec_eval.h"
#include "experiments/run/run_dir.h"
#include "experiments/train/masked_item_objective.h"
#include "io/atomic_file.h"
#include "kernels/elementwise.h"

namespace seqmend {

void StepWindow::add(const StepReport& r) {
  ++steps;
  seconds += r.seconds;
  comm_seconds += r.comm_seconds;
  wait_seconds += r.wait_seconds;
  tokens += r.tokens;
  samples += r.samples;
  balance += r.token_balance;
  balance_max = std::max(balance_max, r.token_balance);
  loss += r.loss;
  for (int i = 0; i < 3; ++i) loss_parts[i] += r.loss_parts[i];
}

std::string format_duration(double s) {
  char buf[64];
  const long t = long(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

namespace {

// "ndcg@10" → value in a metrics object; throws naming what there is.
double metric_of(const nlohmann::json& m, const std::string& name) {
  SEQ_CHECK(m.contains(name) && m[name].is_number(), "pretrain: eval_metric `", name,
            "` is not among the evaluation's metrics ", m.dump());
  return m[name].get<double>();
}

// The run's totals, as results.json gives them.
nlohmann::json run_totals(const LoopProgress& st, int64_t batches_per_epoch, int world_size) {
  nlohmann::json results = nlohmann::json::object();
  results["steps"] = st.step;
  results["epochs"] = double(st.step) / double(batches_per_epoch);
  results["world_size"] = world_size;
  results["train_seconds"] = st.train_seconds;
  results["tokens"] = st.tokens;
  results["tokens_per_s"] = st.train_seconds > 0 ? double(st.tokens) / st.train_seconds : 0.0;
  results["step_s"] = st.step > 0 ? st.train_seconds / double(st.step) : 0.0;
  results["comm_share"] = st.train_seconds > 0 ? st.comm_seconds / st.train_seconds : 0.0;
  results["comm_wait_share"] = st.train_seconds > 0 ? st.wait_seconds / st.train_seconds : 0.0;
  return results;
}

void print_run_summary(const std::string& stage, const LoopProgress& st, const nlohmann::json& results) {
  std::printf("%s: %lld steps in %s, %.0f tokens/s, comm %.1f%% of step time (wait %.1f%%)\n", stage.c_str(),
              (long long)st.step, format_duration(st.train_seconds).c_str(), results["tokens_per_s"].get<double>(),
              100.0 * results["comm_share"].get<double>(), 100.0 * results["comm_wait_share"].get<double>());
}

LoopConfig pretrain_loop(const PretrainConfig& cfg, const MaskedItemObjective& obj) {
  LoopConfig l;
  l.log_every = cfg.log_every;
  l.eval_every = cfg.eval_every > 0 ? cfg.eval_every : obj.batches_per_epoch();
  l.patience = cfg.patience;
  l.eval_metric = cfg.eval_metric;
  l.eval_test = cfg.eval_test && obj.data().has_split("test");
  return l;
}

}  // namespace

Trainer::Trainer(const PretrainConfig& cfg, DataParallelGroup& comm, RunDir* run)
    : owned_(std::make_unique<MaskedItemObjective>(cfg, comm)),
      obj_(owned_.get()),
      loop_(pretrain_loop(cfg, *owned_)),
      comm_(comm),
      run_(run) {
  evaluate_ = make_split_evaluator(owned_->data(), owned_->config().eval, comm_.comm());
}

Trainer::Trainer(TrainObjective& objective, const LoopConfig& loop, DataParallelGroup& comm, RunDir* run)
    : obj_(&objective), loop_(loop), comm_(comm), run_(run) {}

Trainer::~Trainer() = default;

MaskedItemObjective& Trainer::masked_item() const {
  SEQ_CHECK(owned_ != nullptr, obj_->stage(), ": the trainer's objective is not pretraining's");
  return *owned_;
}
const PretrainConfig& Trainer::config() const { return masked_item().config(); }
ItemTransformer& Trainer::model() { return masked_item().model(); }
AdamWOptimizer& Trainer::optimizer() { return masked_item().optimizer(); }
DataParallelLoader& Trainer::loader() { return masked_item().loader(); }
const ShardSet& Trainer::data() const { return masked_item().data(); }
uint64_t Trainer::config_hash() const { return masked_item().config_hash(); }

StepReport Trainer::train_step() {
  const StepReport r = obj_->step(progress_.step);
  progress_.step += 1;
  progress_.train_seconds += r.seconds;
  progress_.comm_seconds += r.comm_seconds;
  progress_.wait_seconds += r.wait_seconds;
  progress_.tokens += r.tokens;
  return r;
}

void Trainer::load_best_params() {
  ItemTransformer* m = obj_->evaluated_model();
  if (!m || progress_.best_params.empty()) return;
  Tensor& p = m->params().params();
  copy_bytes(p.raw(), p.device(), progress_.best_params.data(), Device::CPU, p.nbytes());
}

nlohmann::json Trainer::evaluate(const std::string& split) {
  SEQ_CHECK(bool(evaluate_), obj_->stage(), ": no evaluator set");
  return evaluate_(*obj_->evaluated_model(), split);
}

bool Trainer::at_step_boundary() {
  const bool stop = comm_.stop_requested_anywhere();
  if (stop && comm_.rank() == 0)
    std::printf("%s: stop signal, leaving at step %lld\n", obj_->stage().c_str(), (long long)progress_.step);
  if (boundary_) boundary_(*this);
  return stop;
}

void Trainer::log_progress(const StepReport& last) {
  nlohmann::json record;
  std::string line;
  obj_->log(progress_.window, last, progress_.step, record, line);
  if (run_) run_->append_metrics(record);
  if (comm_.rank() == 0) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  progress_.window = StepWindow();
}

void Trainer::record_eval(const nlohmann::json& m) {
  const std::string& metric = loop_.eval_metric;
  ++progress_.evals;
  const double v = metric_of(m, metric);
  if (v > progress_.best_metric) {
    progress_.best_metric = v;
    progress_.best_step = progress_.step;
    progress_.best_valid = m;
    progress_.evals_since_best = 0;
    const Tensor p = obj_->evaluated_model()->params().params().cpu();
    progress_.best_params.assign(p.data<float>(), p.data<float>() + p.numel());
  } else {
    ++progress_.evals_since_best;
  }
  if (run_) run_->append_metrics({{"step", progress_.step}, {"split", "valid"}, {"metrics", m}});
  if (comm_.rank() == 0)
    std::printf("eval step %lld: valid %s %.4f (best %.4f at step %lld), hr@10 %.4f ndcg@10 %.4f\n",
                (long long)progress_.step, metric.c_str(), v, progress_.best_metric, (long long)progress_.best_step,
                m.value("hr@10", 0.0), m.value("ndcg@10", 0.0));
  std::fflush(stdout);
}

bool Trainer::patience_ran_out() {
  if (loop_.patience <= 0 || progress_.evals_since_best < loop_.patience) return false;
  if (comm_.rank() == 0)
    std::printf("%s: early stop at step %lld: %s has not improved for %lld evaluations\n", obj_->stage().c_str(),
                (long long)progress_.step, loop_.eval_metric.c_str(), (long long)loop_.patience);
  return true;
}

void Trainer::finish_evaluation(int64_t last_eval_step, nlohmann::json& results) {
  if (last_eval_step != progress_.step && progress_.step > 0) record_eval(evaluate("valid"));
  results["best_step"] = progress_.best_step;
  results["valid"] = progress_.best_valid;
  if (!loop_.eval_test) return;
  // Test with the parameters that scored best on valid (the current ones stay for the caller).
  Tensor& p = obj_->evaluated_model()->params().params();
  const Tensor current = p.clone();
  load_best_params();
  results["test"] = evaluate("test");
  copy_bytes(p.raw(), p.device(), current.raw(), current.device(), p.nbytes());
  if (comm_.rank() == 0)
    std::printf("test (best step %lld): hr@10 %.4f ndcg@10 %.4f\n", (long long)progress_.best_step,
                results["test"].value("hr@10", 0.0), results["test"].value("ndcg@10", 0.0));
}

nlohmann::json Trainer::run() {
  obj_->check_fingerprint();
  comm_.install_stop_signal_handlers();
  const bool rank0 = comm_.rank() == 0;
  const int64_t total = obj_->total_steps();
  // Evaluation needs a recommender to score and something to score it with.
  const bool evaluating = obj_->evaluated_model() != nullptr && bool(evaluate_) && loop_.eval_every > 0;
  if (rank0) std::printf("%s\n", obj_->describe().c_str());

  bool stopped = false, early = false;
  int64_t last_eval_step = -1;
  while (progress_.step < total) {
    if (at_step_boundary()) {
      stopped = true;
      break;
    }
    const StepReport r = train_step();
    progress_.window.add(r);
    const int64_t s = progress_.step;
    if (s % loop_.log_every == 0 || s == total) log_progress(r);
    if (evaluating && (s % loop_.eval_every == 0 || s == total)) {
      record_eval(evaluate("valid"));
      last_eval_step = s;
      if (patience_ran_out()) {
        early = true;
        break;
      }
    }
  }

  nlohmann::json results = run_totals(progress_, obj_->batches_per_epoch(), comm_.size());
  results["stopped"] = stopped;
  results["early_stopped"] = early;
  if (evaluating) results["eval_metric"] = loop_.eval_metric;
  if (!stopped && evaluating) finish_evaluation(last_eval_step, results);
  if (finish_) finish_(*this);
  if (loop_.write_results && run_ && run_->is_writer())
    write_file_atomic(run_->file("results.json"), results.dump(2) + "\n");
  if (rank0) print_run_summary(obj_->stage(), progress_, results);
  return results;
}

}  // namespace seqmend
