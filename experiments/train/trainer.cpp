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
Bert4Rec& Trainer::model() { return masked_item().model(); }
AdamWOptimizer& Trainer::optimizer() { return masked_item().optimizer(); }
DataParallelLoader& Trainer::loader() { return masked_item().loader(); }
const ShardSet& Trainer::data() const { return masked_item().data(); }
uint64_t Trainer::config_hash() const { return masked_item().config_hash(); }

StepReport Trainer::train_step() {
  const StepReport r = obj_->step(state_.step);
  state_.step += 1;
  state_.train_seconds += r.seconds;
  state_.comm_seconds += r.comm_seconds;
  state_.wait_seconds += r.wait_seconds;
  state_.tokens += r.tokens;
  return r;
}

void Trainer::load_best_params() {
  Bert4Rec* m = obj_->evaluated_model();
  if (!m || state_.best_params.empty()) return;
  Tensor& p = m->params().params();
  copy_bytes(p.raw(), p.device(), state_.best_params.data(), Device::CPU, p.nbytes());
}

nlohmann::json Trainer::evaluate(const std::string& split) {
  SEQ_CHECK(bool(evaluate_), obj_->stage(), ": no evaluator set");
  return evaluate_(*obj_->evaluated_model(), split);
}

nlohmann::json Trainer::run() {
  obj_->check_fingerprint();
  comm_.install_stop_signal_handlers();
  const bool rank0 = comm_.rank() == 0;
  const std::string stage = obj_->stage();
  const int64_t bpe = obj_->batches_per_epoch(), total = obj_->total_steps();
  // Evaluation needs a recommender to score and something to score it with.
  const bool evaluating = obj_->evaluated_model() != nullptr && bool(evaluate_) && loop_.eval_every > 0;
  if (rank0) std::printf("%s\n", obj_->describe().c_str());
  const std::string metric = loop_.eval_metric;
  auto record_eval = [&](const nlohmann::json& m) {
    ++state_.evals;
    const double v = metric_of(m, metric);
    if (v > state_.best_metric) {
      state_.best_metric = v;
      state_.best_step = state_.step;
      state_.best_valid = m;
      state_.evals_since_best = 0;
      const Tensor p = obj_->evaluated_model()->params().params().cpu();
      state_.best_params.assign(p.data<float>(), p.data<float>() + p.numel());
    } else {
      ++state_.evals_since_best;
    }
    if (run_) run_->append_metrics({{"step", state_.step}, {"split", "valid"}, {"metrics", m}});
    if (rank0)
      std::printf("eval step %lld: valid %s %.4f (best %.4f at step %lld), hr@10 %.4f ndcg@10 %.4f\n",
                  (long long)state_.step, metric.c_str(), v, state_.best_metric,
                  (long long)state_.best_step, m.value("hr@10", 0.0), m.value("ndcg@10", 0.0));
    std::fflush(stdout);
  };

  bool stopped = false, early = false;
  int64_t last_eval_step = -1;
  StepWindow& window = state_.window;
  while (state_.step < total) {
    // ---- step boundary: stop agreement, then checkpoint hook ----
    if (comm_.stop_requested_anywhere()) {
      stopped = true;
      if (rank0) std::printf("%s: stop signal, leaving at step %lld\n", stage.c_str(), (long long)state_.step);
      if (boundary_) boundary_(*this);
      break;
    }
    if (boundary_) boundary_(*this);

    const StepReport r = train_step();
    window.add(r);
    const int64_t s = state_.step;
    if (s % loop_.log_every == 0 || s == total) {
      nlohmann::json record;
      std::string line;
      obj_->log(window, r, s, record, line);
      if (run_) run_->append_metrics(record);
      if (rank0) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      }
      window = StepWindow();
    }
    if (evaluating && (s % loop_.eval_every == 0 || s == total)) {
      record_eval(evaluate("valid"));
      last_eval_step = s;
      if (loop_.patience > 0 && state_.evals_since_best >= loop_.patience) {
        early = true;
        if (rank0)
          std::printf("%s: early stop at step %lld: %s has not improved for %lld evaluations\n", stage.c_str(),
                      (long long)s, metric.c_str(), (long long)loop_.patience);
        break;
      }
    }
  }

  nlohmann::json results = nlohmann::json::object();
  results["steps"] = state_.step;
  results["epochs"] = double(state_.step) / double(bpe);
  results["stopped"] = stopped;
  results["early_stopped"] = early;
  results["world_size"] = comm_.size();
  results["train_seconds"] = state_.train_seconds;
  results["tokens"] = state_.tokens;
  results["tokens_per_s"] = state_.train_seconds > 0 ? double(state_.tokens) / state_.train_seconds : 0.0;
  results["step_s"] = state_.step > 0 ? state_.train_seconds / double(state_.step) : 0.0;
  results["comm_share"] = state_.train_seconds > 0 ? state_.comm_seconds / state_.train_seconds : 0.0;
  results["comm_wait_share"] = state_.train_seconds > 0 ? state_.wait_seconds / state_.train_seconds : 0.0;
  if (evaluating) results["eval_metric"] = metric;
  if (!stopped && evaluating) {
    if (last_eval_step != state_.step && state_.step > 0) record_eval(evaluate("valid"));
    results["best_step"] = state_.best_step;
    results["valid"] = state_.best_valid;
    if (loop_.eval_test) {
      // Test with the parameters that scored best on valid (the current ones stay for the caller).
      Tensor& p = obj_->evaluated_model()->params().params();
      const Tensor current = p.clone();
      load_best_params();
      results["test"] = evaluate("test");
      copy_bytes(p.raw(), p.device(), current.raw(), current.device(), p.nbytes());
      if (rank0)
        std::printf("test (best step %lld): hr@10 %.4f ndcg@10 %.4f\n", (long long)state_.best_step,
                    results["test"].value("hr@10", 0.0), results["test"].value("ndcg@10", 0.0));
    }
  }
  if (finish_) finish_(*this);
  if (loop_.write_results && run_ && run_->is_writer())
    write_file_atomic(run_->file("results.json"), results.dump(2) + "\n");
  if (rank0)
    std::printf("%s: %lld steps in %s, %.0f tokens/s, comm %.1f%% of step time (wait %.1f%%)\n", stage.c_str(),
                (long long)state_.step, format_duration(state_.train_seconds).c_str(),
                results["tokens_per_s"].get<double>(), 100.0 * results["comm_share"].get<double>(),
                100.0 * results["comm_wait_share"].get<double>());
  return results;
}

}  // namespace seqmend
