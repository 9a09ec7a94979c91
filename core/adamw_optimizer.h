// AdamW over the flat parameter buffer, with two weight-decay groups: matrices and embeddings decay,
// biases and LayerNorm parameters do not (ParamEntry::decay). Gradient clipping by global norm and
// the learning-rate schedule (kernels/lr_schedule.h) are applied per step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/param_buffer.h"
#include "kernels/lr_schedule.h"

namespace seqmend {

class ConfigVisitor;

struct OptimizerConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
  double clip_norm = 1.0;          // <= 0 disables clipping
  std::string schedule = "constant";  // constant | linear | cosine
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;         // for linear/cosine decay
  double min_lr = 0.0;

  void visit(ConfigVisitor& v);    // core/adamw_optimizer.cpp, when io/config_impl.h is present
};

struct OptimizerStats {
  double lr = 0.0;
  double grad_norm = 0.0;  // before clipping
};

class AdamWOptimizer {
 public:
  AdamWOptimizer(ParamBuffer& pb, const OptimizerConfig& cfg);

  // Clips the gradient buffer, then updates parameters and moments in place. step is 0-based (the
  // schedule's step); AdamW's bias correction uses step + 1.
  OptimizerStats step(int64_t step);

  const OptimizerConfig& config() const { return cfg_; }

 private:
  struct Range {  // a run of consecutive parameters sharing the decay flag
    int64_t offset, n;
    bool decay;
  };
  ParamBuffer& pb_;
  OptimizerConfig cfg_;
  LrSchedule schedule_;
  std::vector<Range> ranges_;
};

}  // namespace seqmend
