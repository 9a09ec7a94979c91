#include "experiments/train/masked_item_objective.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/train_step.h"
#include "experiments/run/checkpoint.h"
#include "experiments/run/device_choice.h"
#include "experiments/train/canaries.h"
#include "experiments/train/train_checkpoint.h"
#include "io/config.h"
#include "kernels/elementwise.h"

namespace seqmend {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Appends batch `b` to `a` (packed tokens, targets and sequence bounds shifted).
void append_batch(Batch& a, const Batch& b) {
  if (a.cu_seqlens.empty()) a.cu_seqlens.push_back(0);
  const int64_t n0 = a.N;
  for (int64_t s = 0; s < b.B; ++s) a.cu_seqlens.push_back(n0 + b.cu_seqlens[size_t(s) + 1]);
  a.sample_id.insert(a.sample_id.end(), b.sample_id.begin(), b.sample_id.end());
  a.item.insert(a.item.end(), b.item.begin(), b.item.end());
  a.position.insert(a.position.end(), b.position.begin(), b.position.end());
  a.action.insert(a.action.end(), b.action.begin(), b.action.end());
  a.gap.insert(a.gap.end(), b.gap.begin(), b.gap.end());
  a.token_keys.insert(a.token_keys.end(), b.token_keys.begin(), b.token_keys.end());
  for (int64_t r : b.target_rows) a.target_rows.push_back(n0 + r);
  a.target_items.insert(a.target_items.end(), b.target_items.begin(), b.target_items.end());
  a.B += b.B;
  a.N += b.N;
}

// The training batch of some samples at `step`: a share `crop_prob` of the samples is cut to a
// random prefix, then BERT4Rec cloze masking, except that a share
// `last_item_prob` of the samples (drawn per (seed, step, sample)) gets only its newest event
// masked — the next-item task evaluation asks for. A causal encoder instead predicts every event
// from the ones before it (make_causal_batch).
Batch make_train_batch(const std::vector<SequenceView>& seqs, const PretrainConfig& cfg, int64_t step) {
  std::vector<SequenceView> cloze, last, causal;
  std::vector<int32_t> last_targets;
  for (SequenceView v : seqs) {
    if (v.items.empty()) continue;  // nothing to predict
    if (cfg.crop_prob > 0.0 && v.items.size() >= 3) {
      // Keep a random prefix of >= 2 events: sequences are right-aligned, so every event is seen
      // at many distances from the end, as it will be when later events are appended.
      Rng r(hash_combine(hash_combine(cfg.seed, 0xc409), uint64_t(step)), uint64_t(v.sample_id));
      if (r.uniform_double() < cfg.crop_prob) {
        v = v.prefix(2 + size_t(r.below(v.items.size() - 1)));  // 2..len events
      }
    }
    if (cfg.model.causal()) {
      causal.push_back(v);
      continue;
    }
    bool take_last = false;
    if (cfg.last_item_prob > 0.0 && v.items.size() >= 2) {
      Rng r(hash_combine(hash_combine(cfg.seed, 0x1a57), uint64_t(step)), uint64_t(v.sample_id));
      take_last = r.uniform_double() < cfg.last_item_prob;
    }
    if (!take_last) {
      cloze.push_back(v);
      continue;
    }
    const size_t n = v.items.size() - 1;
    last.push_back(v.prefix(n));
    last_targets.push_back(v.items[n]);
  }
  if (cfg.model.causal()) return make_causal_batch(causal, cfg.model);
  ClozeOptions co;
  co.mask_prob = float(cfg.mask_prob);
  co.seed = cfg.seed;
  co.epoch = uint64_t(step);
  Batch b = make_cloze_batch(cloze, cfg.model, co);
  if (!last.empty()) append_batch(b, make_next_item_batch(last, cfg.model, &last_targets));
  return b;
}

// " balance 1.03" on the progress line of a multi-rank run (max / mean tokens per rank).
std::string balance_text(int world, double balance) {
  if (world <= 1) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, " balance %.2f", balance);
  return buf;
}

}  // namespace

MaskedItemObjective::MaskedItemObjective(const PretrainConfig& cfg, DataParallelGroup& comm)
    : cfg_(cfg), comm_(comm), set_(ShardSet::open(cfg.data_dir)) {
  cfg_.validate();
  if (cfg_.model.num_items == 0) cfg_.model.num_items = set_.num_items();
  SEQ_CHECK(cfg_.model.num_items == set_.num_items(), "pretrain: model.num_items ", cfg_.model.num_items,
            " differs from the data's ", set_.num_items(), " items (", cfg_.data_dir, ")");
  // A rank whose shard is missing or damaged throws here; run_rank/main take the job down.
  loader_ = std::make_unique<DataParallelLoader>(set_, kCanarySplit, comm.rank(), comm.size(),
                                                 cfg_.global_batch_size, cfg_.seed, cfg_.model.max_len,
                                                 int64_t(cfg_.data_cache_mb * 1048576.0));
  const int64_t shards = set_.split("train").num_shards();
  if (comm.rank() == 0 && shards < comm.size())
    std::printf("pretrain: the train split has %lld shard(s) for %d ranks: batches stay balanced, but reading is "
                "uneven (a shard is read whole by every rank that needs any of it); write the set with "
                "target_shards >= ranks to spread it\n",
                (long long)shards, comm.size());
  // Canaries go into this run's copy of the train split only (experiments/train/canaries.h).
  if (cfg_.canaries.enabled)
    loader_->set_transform([this](SequenceSet s) {
      return with_canaries(s, cfg_.canaries, set_.num_items(), set_.item_counts());
    });
  const int64_t per_epoch = loader_->batches_per_epoch();
  total_steps_ = cfg_.max_steps > 0 ? cfg_.max_steps : cfg_.epochs * per_epoch;
  if (cfg_.max_steps > 0 && cfg_.epochs > 0) total_steps_ = std::min(total_steps_, cfg_.epochs * per_epoch);
  if (cfg_.optim.total_steps == 0) cfg_.optim.total_steps = total_steps_;
  config_hash_ = DataParallelGroup::hash(config_to_yaml(cfg_));

  grads_ = &comm_;
  if (require_device(cfg_.device, "pretrain") == Device::CUDA) {
    // Before the model: the NCCL communicator binds this rank to its GPU, where the model lives.
    gpu_group_ = DataParallelGroup::world_gpu();
    grads_ = gpu_group_.get();
    dev_ = Device::CUDA;
  }
  model_ = std::make_unique<ItemTransformer>(cfg_.model, dev_);
  opt_ = std::make_unique<AdamWOptimizer>(model_->params(), cfg_.optim);
  Tensor& g = model_->params().grads();
  grads_->bind_gradients(g.data<float>(), size_t(g.numel()), cfg_.bucket_mb);
}

MaskedItemObjective::~MaskedItemObjective() = default;

std::string MaskedItemObjective::describe() const {
  return str("pretrain: ", loader_->num_samples(), " train sequences dealt to ", comm_.size(),
             " ranks by tokens, global batch ", cfg_.global_batch_size, " x ", cfg_.grad_accum_steps, " micro, ",
             loader_->batches_per_epoch(), " steps/epoch, ", total_steps_, " steps, ", model_->params().numel(),
             " parameters");
}

void MaskedItemObjective::check_fingerprint() {
  const Tensor p = model_->params().params().cpu();
  comm_.check_fingerprint(config_hash_, p.data<float>(), size_t(p.numel()));
}

void MaskedItemObjective::mark_ready_from(size_t first_entry) {
  const auto& entries = model_->params().entries();
  const size_t begin = first_entry == 0 ? 0 : size_t(entries[first_entry].offset);
  if (begin < marked_from_) {  // alignment gaps ride along with the parameter before them
    float* g = model_->params().grads().data<float>();
    if (inject_nan_) {  // fault injection: a final gradient element of this rank goes NaN
      const float nan = std::nanf("");
      copy_bytes(g + marked_from_ - 1, dev_, &nan, Device::CPU, sizeof nan);
      inject_nan_ = false;
    }
    // Checked before the all-reduce spreads it, so the error names the rank a NaN came from. On a
    // GPU one reduction per range (Σ g² is finite: also false for |g| beyond ~1e19, no gradient a
    // healthy run has).
    if (dev_ == Device::CPU) {
      for (size_t i = begin; i < marked_from_ && local_finite_; ++i) local_finite_ = std::isfinite(g[i]);
    } else if (local_finite_) {
      local_finite_ = std::isfinite(sum_squares(dev_, g + begin, int64_t(marked_from_ - begin)));
    }
    grads_->mark_ready(begin, marked_from_ - begin);
    marked_from_ = begin;
  }
}

StepReport MaskedItemObjective::step(int64_t step) {
  const double t0 = now_s();
  const int64_t per_epoch = loader_->batches_per_epoch();
  const std::vector<int64_t> ids = loader_->global_batch_ids(step / per_epoch, step % per_epoch);
  const int64_t A = std::min<int64_t>(cfg_.grad_accum_steps, int64_t(ids.size()));

  std::vector<Batch> micro(static_cast<size_t>(A));
  int64_t counts[2] = {0, 0};  // targets, tokens on this rank
  int64_t samples = 0;
  for (int64_t a = 0; a < A; ++a) {
    micro[size_t(a)] = make_train_batch(loader_->views(loader_->local_part(ids, a, A)), cfg_, step);
    counts[0] += micro[size_t(a)].M();
    counts[1] += micro[size_t(a)].N;
    samples += micro[size_t(a)].B;
  }
  // Cache mode: this rank's share of the next batch is read while this one trains.
  if (loader_->cached() && step + 1 < total_steps_) {
    const std::vector<int64_t> next = loader_->global_batch_ids((step + 1) / per_epoch, (step + 1) % per_epoch);
    loader_->prefetch(next, std::min<int64_t>(cfg_.grad_accum_steps, int64_t(next.size())));
  }
  const double tc = now_s();
  comm_.sum(counts, 2);
  double comm_s = now_s() - tc;
  SEQ_CHECK(counts[0] > 0, "pretrain: global batch of step ", step, " has no targets");

  ParamBuffer& pb = model_->params();
  pb.zero_grads();
  inject_nan_ = step == cfg_.debug.nan_grad_step && comm_.rank() == cfg_.debug.nan_rank;
  SEQ_CHECK(!(step == cfg_.debug.throw_step && comm_.rank() == cfg_.debug.throw_rank),
            "pretrain: injected failure at step ", step, " (debug.throw_step)");

  int64_t last = -1;
  for (int64_t a = 0; a < A; ++a)
    if (micro[size_t(a)].M() > 0) last = a;
  ForwardOptions fo;
  fo.train = true;
  fo.need_grads = true;
  fo.dropout_seed = step_dropout_seed(cfg_.seed, step);
  // Gradients come out as world·(local CE sum)/global targets; the bucketer averages over ranks.
  fo.loss_denominator = double(counts[0]) / double(comm_.size());
  marked_from_ = size_t(pb.numel());
  local_finite_ = true;
  double loss_local = 0.0;
  for (int64_t a = 0; a <= last; ++a) {
    const Batch& b = micro[size_t(a)];
    if (b.M() == 0) continue;
    if (a == last) model_->set_grad_ready_hook([this](size_t e) { mark_ready_from(e); });
    loss_local += model_->forward(b, fo);
    model_->backward(b);
    model_->set_grad_ready_hook(nullptr);
  }
  mark_ready_from(0);  // a rank without samples in this batch contributes zeros
  grads_->finish();
  comm_s += grads_->last_comm_seconds();

  const double tl = now_s();
  StepReport r;
  r.loss = comm_.sum_ordered(loss_local) / double(comm_.size());
  comm_s += now_s() - tl;
  // This rank's own gradient (checked as its ranges became ready) and loss: the error names the
  // rank(s) where the NaN arose, and every rank stops at the same step.
  comm_.check_all(local_finite_ && std::isfinite(loss_local),
                  str("loss or gradient at step ", step, " (global loss ", r.loss, ")"));

  OptimizerStats st = opt_->step(step);
  r.grad_norm = st.grad_norm;
  r.lr = st.lr;
  r.tokens = counts[1];
  r.token_balance = loader_->token_balance(ids, A);
  r.targets = counts[0];
  r.samples = samples;
  r.seconds = now_s() - t0;
  r.comm_seconds = comm_s;
  r.wait_seconds = grads_->last_wait_seconds();
  return r;
}

void MaskedItemObjective::log(const StepWindow& w, const StepReport& r, int64_t s, nlohmann::json& record,
                              std::string& line) const {
  const double per_epoch = double(loader_->batches_per_epoch()), k = double(w.steps);
  const double tps = double(w.tokens) / w.seconds;
  const double eta = w.seconds / k * double(total_steps_ - s);
  record = {{"step", s}, {"epoch", double(s) / per_epoch}, {"loss", r.loss},
            {"loss_avg", w.loss / k}, {"lr", r.lr},
            {"grad_norm", r.grad_norm}, {"tokens_per_s", tps},
            {"step_s", w.seconds / k},
            {"comm_share", w.comm_seconds / w.seconds},
            {"comm_wait_share", w.wait_seconds / w.seconds},
            {"token_balance", w.balance / k},
            {"token_balance_max", w.balance_max}};
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "step %lld/%lld epoch %.2f loss %.4f lr %.3g gnorm %.3f tok/s %.0f comm %.1f%% "
                "(wait %.1f%%)%s eta %s",
                (long long)s, (long long)total_steps_, double(s) / per_epoch, w.loss / k, r.lr, r.grad_norm, tps,
                100.0 * w.comm_seconds / w.seconds, 100.0 * w.wait_seconds / w.seconds,
                balance_text(comm_.size(), w.balance / k).c_str(), format_duration(eta).c_str());
  line = buf;
}

std::string MaskedItemObjective::model_yaml() const {
  ModelConfig model = cfg_.model;
  return config_to_yaml(model);
}

std::string MaskedItemObjective::model_yaml_now(const std::string& stored) const {
  try {
    ModelConfig model = load_config_text<ModelConfig>(stored, "checkpoint model_yaml");
    return config_to_yaml(model);
  } catch (const Error&) {
    return stored;
  }
}

std::string MaskedItemObjective::config_yaml() const {
  PretrainConfig cfg = cfg_;
  return config_to_yaml(cfg);
}

// Keys of the data position: the order of global batches depends on these and the step only.
void MaskedItemObjective::put_data_position(TrainingState& st) const {
  st.counters["data.seed"] = cfg_.seed;
  st.counters["data.global_batch"] = uint64_t(loader_->global_batch());
  st.counters["data.num_samples"] = uint64_t(loader_->num_samples());
  st.counters["data.batches_per_epoch"] = uint64_t(loader_->batches_per_epoch());
}

uint64_t MaskedItemObjective::data_fingerprint() const { return train_split_fingerprint(set_); }

}  // namespace seqmend
