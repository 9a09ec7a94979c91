#include "experiments/detect/detector_objective.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/detect/detector_checkpoint.h"
#include "experiments/run/checkpoint.h"
#include "experiments/train/token_deal.h"
#include "experiments/train/train_checkpoint.h"
#include "io/config.h"
#include "kernels/elementwise.h"

namespace seqmend {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// On the GPU one reduction (Σ g² is finite: also false for |g| beyond ~1e19, no gradient a healthy
// run has), as pretraining checks its buffers.
bool all_finite(const Tensor& t) {
  if (t.device() != Device::CPU) return std::isfinite(sum_squares(t.device(), t.data<float>(), t.numel()));
  const float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

}  // namespace

DetectorObjective::DetectorObjective(const FinetuneConfig& cfg, Detector& det, DataParallelLoader& loader,
                                     const ShardSet& set, const Injector* injector, DataParallelGroup& group,
                                     const std::string& encoder_file, DataParallelGroup* gpu_encoder_group,
                                     DataParallelGroup* gpu_head_group)
    : cfg_(cfg),
      det_(det),
      loader_(loader),
      set_(set),
      injector_(injector),
      group_(group),
      encoder_file_(encoder_file),
      saved_(detector_param_layout(det)) {
  SEQ_CHECK(!loader_.cached(), "finetune: the loader must hold the whole train split");
  const int64_t per_epoch = loader_.batches_per_epoch();
  total_steps_ = cfg_.max_steps > 0 ? cfg_.max_steps : cfg_.epochs * per_epoch;
  if (cfg_.max_steps > 0 && cfg_.epochs > 0) total_steps_ = std::min(cfg_.max_steps, cfg_.epochs * per_epoch);
  if (cfg_.optim.total_steps == 0) cfg_.optim.total_steps = total_steps_;

  if (!cfg_.detector.freeze_encoder)
    enc_opt_ = std::make_unique<AdamWOptimizer>(det_.encoder().params(), cfg_.optim);
  head_opt_ = std::make_unique<AdamWOptimizer>(det_.heads().params(), cfg_.optim);
  if (group_.size() > 1) {
    if (det_.device() != Device::CPU) {
      SEQ_CHECK(gpu_encoder_group && gpu_head_group, "finetune: a detector on ", device_name(det_.device()),
                " needs its GPU gradient groups");
      enc_grads_ = gpu_encoder_group;
      head_grads_ = gpu_head_group;
    } else {
      head_group_ = std::make_unique<DataParallelGroup>(group_.comm());
      enc_grads_ = &group_;
      head_grads_ = head_group_.get();
    }
    if (enc_opt_)
      enc_grads_->bind_gradients(det_.encoder().params().grads().data<float>(),
                                 size_t(det_.encoder().params().numel()), cfg_.bucket_mb);
    head_grads_->bind_gradients(det_.heads().params().grads().data<float>(), size_t(det_.heads().params().numel()),
                                cfg_.bucket_mb);
  }
}

DetectorObjective::~DetectorObjective() = default;

std::string DetectorObjective::describe() const {
  return str("finetune: ", loader_.num_samples(), " train sequences, ", group_.size(), " ranks, global batch ",
             cfg_.global_batch_size, ", ", loader_.batches_per_epoch(), " steps/epoch, ", total_steps_,
             " steps, labels ", injector_ ? "injected" : "stored", ", encoder ",
             encoder_file_.empty() ? "random init" : encoder_file_.c_str(),
             cfg_.detector.freeze_encoder ? " (frozen)" : "");
}

void DetectorObjective::check_fingerprint() {
  ParamBuffer& pb = checkpoint_buffer();
  FinetuneConfig cfg = cfg_;
  group_.check_fingerprint(DataParallelGroup::hash(config_to_yaml(cfg)), pb.params().data<float>(),
                           size_t(pb.numel()));
}

StepReport DetectorObjective::step(int64_t step) {
  const double t0 = now_s();
  const bool dp = group_.size() > 1;
  const int64_t per_epoch = loader_.batches_per_epoch();
  const int64_t epoch = step / per_epoch, index = step % per_epoch;
  const SequenceSet& local = loader_.data();
  const int64_t max_len = det_.encoder().config().max_len;
  // Every rank builds and injects the whole global batch (the injection is a function of the
  // batch and the step, e.g. llround(bot_rate · batch) bots), then trains on its deal of the
  // result: the same step on any number of ranks.
  const std::vector<int64_t> ids = loader_.global_batch_ids(epoch, index);
  SequenceSet part;
  for (int64_t q : ids) part.append_from(local, q);  // sample id = row of the loader's data
  SequenceSet data;
  if (!injector_) {
    data = std::move(part);
  } else if (part.num_sequences() > 0) {
    data = injector_->run(without_labels(part), hash_combine(cfg_.seed, hash_combine(uint64_t(epoch), uint64_t(index))), 1)
               .data;
  }
  std::vector<int64_t> cost;
  for (int64_t s = 0; s < data.num_sequences(); ++s) cost.push_back(std::min<int64_t>(data.length(s), max_len));
  const std::vector<int> dealt_to = deal_by_tokens(cost, group_.size());
  std::vector<SequenceView> views;
  std::vector<int64_t> seqs;
  for (int64_t s = 0; s < data.num_sequences(); ++s) {
    if (dealt_to[size_t(s)] != group_.rank()) continue;
    const size_t e = size_t(data.offsets[size_t(s)]), n = size_t(data.length(s));
    SequenceView v;
    v.items = std::span<const int32_t>(data.item).subspan(e, n);
    if (data.has_timestamps()) v.timestamps = std::span<const int64_t>(data.timestamp).subspan(e, n);
    if (data.has_actions()) v.actions = std::span<const int8_t>(data.action).subspan(e, n);
    v.sample_id = int64_t(hash_combine(uint64_t(step), uint64_t(s)) >> 1);
    views.push_back(v);
    seqs.push_back(s);
  }
  Batch b = make_plain_batch(views, cfg_.model);
  DetectorTargets y = detector_targets(b, data, seqs);
  if (cfg_.drop_top_negatives > 0 && b.B > 0) {
    // The current scores, without dropout, pick the negatives left out of this step's loss.
    std::vector<float> pe(static_cast<size_t>(b.N)), pg(static_cast<size_t>(b.N));
    det_.score(b, pe.data(), pg.data(), nullptr);
    drop_top_negatives(y.event_y, y.event_w, pe, cfg_.drop_top_negatives);
    drop_top_negatives(y.gap_y, y.gap_w, pg, cfg_.drop_top_negatives);
  }
  // Labelled counts per head and tokens, over the global batch (summed in rank order per element,
  // so the counts' bits do not depend on the tokens beside them).
  double counts[4] = {y.event_count(), y.gap_count(), y.seq_count(), double(b.N)};
  double comm_s = 0.0;
  if (dp) {
    const double tc = now_s();
    group_.sum_ordered(counts, 4);
    comm_s += now_s() - tc;
  }
  SEQ_CHECK(!(step == cfg_.debug.throw_step && group_.rank() == cfg_.debug.throw_rank),
            "finetune: injected failure at step ", step, " (debug.throw_step)");
  det_.encoder().params().zero_grads();
  det_.heads().params().zero_grads();
  DetectorLoss L;
  if (b.B > 0) {
    DetectorForward fw;
    fw.train = true;
    fw.dropout_seed = hash_combine(cfg_.seed, uint64_t(step));
    // The gradient all-reduce averages over ranks (GradBucketer), so each rank divides by the
    // global count / world: the average of the rank gradients is then the global-batch mean.
    const double world = double(group_.size());
    fw.event_denominator = std::max(counts[0], 1.0) / world;
    fw.gap_denominator = std::max(counts[1], 1.0) / world;
    fw.seq_denominator = std::max(counts[2], 1.0) / world;
    L = det_.forward(b, y, fw);
    det_.backward(b);
  }
  if (step == cfg_.debug.nan_grad_step && group_.rank() == cfg_.debug.nan_rank) {  // fault injection
    const float nan = std::nanf("");
    copy_bytes(det_.heads().params().grads().raw(), det_.device(), &nan, Device::CPU, sizeof nan);
  }
  // This rank's own loss and gradients, before the all-reduce spreads a NaN: the error names the
  // rank(s) where it arose, and every rank stops at the same step.
  const bool finite = std::isfinite(L.total) && all_finite(det_.heads().params().grads()) &&
                      (!enc_opt_ || all_finite(det_.encoder().params().grads()));
  double wait_s = 0.0;
  if (dp) {
    const double tc = now_s();
    if (enc_opt_) {
      enc_grads_->mark_ready(0, size_t(det_.encoder().params().numel()));
      enc_grads_->finish();
      wait_s += enc_grads_->last_wait_seconds();
    }
    head_grads_->mark_ready(0, size_t(det_.heads().params().numel()));
    head_grads_->finish();
    wait_s += head_grads_->last_wait_seconds();
    double parts[4] = {L.total, L.event, L.gap, L.sequence};
    group_.sum_ordered(parts, 4);
    const double world = double(group_.size());
    L = {parts[0] / world, parts[1] / world, parts[2] / world, parts[3] / world};
    comm_s += now_s() - tc;
  }
  group_.check_all(finite, str("loss or gradient at step ", step, " (global loss ", L.total, ")"));
  const OptimizerStats os = head_opt_->step(step);
  if (enc_opt_) enc_opt_->step(step);
  last_ = L;

  StepReport r;
  r.loss = L.total;
  r.loss_parts[0] = L.event;
  r.loss_parts[1] = L.gap;
  r.loss_parts[2] = L.sequence;
  r.lr = os.lr;
  r.grad_norm = os.grad_norm;
  r.tokens = int64_t(counts[3]);
  r.targets = int64_t(counts[0] + counts[1] + counts[2]);
  r.samples = int64_t(seqs.size());
  r.seconds = now_s() - t0;
  r.comm_seconds = comm_s;
  r.wait_seconds = wait_s;
  return r;
}

void DetectorObjective::log(const StepWindow& w, const StepReport& r, int64_t s, nlohmann::json& record,
                            std::string& line) const {
  const double k = double(w.steps), per_epoch = double(loader_.batches_per_epoch());
  const double seq_s = double(w.samples) / w.seconds;
  record = {{"step", s}, {"epoch", double(s) / per_epoch}, {"loss", w.loss / k},
            {"loss_event", w.loss_parts[0] / k}, {"loss_gap", w.loss_parts[1] / k},
            {"loss_sequence", w.loss_parts[2] / k}, {"lr", r.lr}, {"head_grad_norm", r.grad_norm},
            {"sequences_per_s", seq_s}};
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "finetune step %lld/%lld epoch %.2f loss %.4f (event %.4f gap %.4f seq %.4f) lr %.3g seq/s %.0f",
                (long long)s, (long long)total_steps_, double(s) / per_epoch, w.loss / k, w.loss_parts[0] / k,
                w.loss_parts[1] / k, w.loss_parts[2] / k, r.lr, seq_s);
  line = buf;
}

ParamBuffer& DetectorObjective::checkpoint_buffer() {
  copy_detector_part(saved_, det_.encoder().params(), "encoder.", enc_opt_ != nullptr, false);
  copy_detector_part(saved_, det_.heads().params(), "heads.", true, false);
  return saved_;
}

void DetectorObjective::checkpoint_restored() {
  copy_detector_part(saved_, det_.encoder().params(), "encoder.", enc_opt_ != nullptr, true);
  copy_detector_part(saved_, det_.heads().params(), "heads.", true, true);
}

std::string DetectorObjective::model_yaml() const {
  ModelConfig model = det_.encoder().config();
  DetectorConfig dc = det_.config();
  return config_to_yaml(model) + "detector:\n" + config_to_yaml(dc);
}

std::string DetectorObjective::model_yaml_now(const std::string& stored) const {
  const size_t at = stored.find("\ndetector:\n");  // model_yaml(): the encoder's keys, then the heads'
  if (at == std::string::npos) return stored;
  try {
    ModelConfig model = load_config_text<ModelConfig>(stored.substr(0, at + 1), "checkpoint model_yaml");
    DetectorConfig dc = load_config_text<DetectorConfig>(stored.substr(at + 11), "checkpoint model_yaml");
    return config_to_yaml(model) + "detector:\n" + config_to_yaml(dc);
  } catch (const Error&) {
    return stored;
  }
}

std::string DetectorObjective::config_yaml() const {
  FinetuneConfig cfg = cfg_;
  return config_to_yaml(cfg);
}

// Keys of the data position: the order of global batches depends on these and the step only.
void DetectorObjective::put_data_position(TrainingState& st) const {
  st.counters["data.seed"] = cfg_.seed;
  st.counters["data.global_batch"] = uint64_t(loader_.global_batch());
  st.counters["data.num_samples"] = uint64_t(loader_.num_samples());
  st.counters["data.batches_per_epoch"] = uint64_t(loader_.batches_per_epoch());
  st.counters["data.stored_labels"] = injector_ ? 0 : 1;
}

// results.json's final_loss is the last step's: a run resumed from its final checkpoint (killed
// during calibration) runs no step to take it from.
void DetectorObjective::put_state(TrainingState& st) const {
  st.put_double("finetune.last_loss.total", last_.total);
  st.put_double("finetune.last_loss.event", last_.event);
  st.put_double("finetune.last_loss.gap", last_.gap);
  st.put_double("finetune.last_loss.sequence", last_.sequence);
}

void DetectorObjective::apply_state(const TrainingState& st) {
  last_.total = st.get_double("finetune.last_loss.total");
  last_.event = st.get_double("finetune.last_loss.event");
  last_.gap = st.get_double("finetune.last_loss.gap");
  last_.sequence = st.get_double("finetune.last_loss.sequence");
}

uint64_t DetectorObjective::data_fingerprint() const { return train_split_fingerprint(set_); }

}  // namespace seqmend
