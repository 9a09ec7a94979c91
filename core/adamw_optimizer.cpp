#include "core/adamw_optimizer.h"

#include "kernels/adamw.h"
#include "kernels/elementwise.h"

namespace seqmend {

AdamWOptimizer::AdamWOptimizer(ParamBuffer& pb, const OptimizerConfig& cfg)
    : pb_(pb), cfg_(cfg), schedule_(parse_lr_schedule(cfg.schedule)) {
  SEQ_CHECK(pb.allocated(), "adamw: parameter buffer not allocated");
  SEQ_CHECK(cfg.lr >= 0.0, "adamw: lr must be >= 0, got ", cfg.lr);
  SEQ_CHECK(cfg.beta1 >= 0.0 && cfg.beta1 < 1.0, "adamw: beta1 must be in [0, 1), got ", cfg.beta1);
  SEQ_CHECK(cfg.beta2 >= 0.0 && cfg.beta2 < 1.0, "adamw: beta2 must be in [0, 1), got ", cfg.beta2);
  SEQ_CHECK(cfg.eps > 0.0, "adamw: eps must be > 0, got ", cfg.eps);
  SEQ_CHECK(cfg.weight_decay >= 0.0, "adamw: weight_decay must be >= 0, got ", cfg.weight_decay);
  // Entries are laid out in registration order; merging neighbours with the same flag lets one
  // update call cover e.g. all matrices of a block. Alignment gaps hold zeros and stay zero.
  const auto& es = pb.entries();
  for (size_t i = 0; i < es.size(); ++i) {
    const int64_t end = i + 1 < es.size() ? es[i + 1].offset : pb.numel();
    if (!ranges_.empty() && ranges_.back().decay == es[i].decay)
      ranges_.back().n = end - ranges_.back().offset;
    else
      ranges_.push_back({es[i].offset, end - es[i].offset, es[i].decay});
  }
  pb.adam_m();
  pb.adam_v();
}

OptimizerStats AdamWOptimizer::step(int64_t step) {
  OptimizerStats st;
  const Device dev = pb_.params().device();
  float* g = pb_.grads().data<float>();
  st.grad_norm = clip_global_norm(dev, g, pb_.numel(), cfg_.clip_norm);
  st.lr = lr_at(schedule_, step, cfg_.lr, cfg_.warmup_steps, cfg_.total_steps, cfg_.min_lr);
  AdamWArgs a;
  a.lr = float(st.lr);
  a.beta1 = float(cfg_.beta1);
  a.beta2 = float(cfg_.beta2);
  a.eps = float(cfg_.eps);
  a.step = step + 1;
  float* p = pb_.params().data<float>();
  float* m = pb_.adam_m().data<float>();
  float* v = pb_.adam_v().data<float>();
  for (const Range& r : ranges_) {
    a.weight_decay = r.decay ? float(cfg_.weight_decay) : 0.0f;
    adamw_update(dev, p + r.offset, g + r.offset, m + r.offset, v + r.offset, r.n, a);
  }
  return st;
}

}  // namespace seqmend

#if __has_include("io/config_impl.h")
#include "io/config.h"

namespace seqmend {

void OptimizerConfig::visit(ConfigVisitor& v) {
  v.field("lr", lr, "peak learning rate", 0.0, 10.0);
  v.field("beta1", beta1, "AdamW first-moment decay", 0.0, 0.999999);
  v.field("beta2", beta2, "AdamW second-moment decay", 0.0, 0.999999);
  v.field("eps", eps, "AdamW epsilon", 1e-20, 1.0);
  v.field("weight_decay", weight_decay, "decoupled weight decay (not on biases and LayerNorm)", 0.0, 10.0);
  v.field("clip_norm", clip_norm, "global gradient-norm clip (<= 0 disables)");
  v.choice("schedule", schedule, {"constant", "linear", "cosine"}, "learning-rate schedule");
  v.field("warmup_steps", warmup_steps, "linear warmup steps", 0);
  v.field("total_steps", total_steps, "steps of the whole run (end of the decay)", 0);
  v.field("min_lr", min_lr, "learning rate at the end of the decay", 0.0, 10.0);
}

}  // namespace seqmend
#endif
