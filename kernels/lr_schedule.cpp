#include "kernels/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/base/error.h"

namespace seqmend {

LrSchedule parse_lr_schedule(const std::string& name) {
  if (name == "constant") return LrSchedule::Constant;
  if (name == "linear") return LrSchedule::Linear;
  if (name == "cosine") return LrSchedule::Cosine;
  SEQ_FAIL("lr_schedule: unknown schedule '", name, "' (expected constant, linear or cosine)");
}

// The same rule as Hugging Face's get_{constant,linear,cosine}_schedule_with_warmup, with the
// decay ending at min_lr instead of 0:
//   step < W:  base · step / W                       (step 0 gets 0)
//   constant:  base
//   linear:    min + (base − min) · max(0, 1 − t)
//   cosine:    min + (base − min) · ½(1 + cos(π · min(t, 1)))
// with t = (step − W) / (total − W). Past total_steps the rate stays at min_lr.
double lr_at(LrSchedule s, int64_t step, double base_lr, int64_t warmup_steps, int64_t total_steps,
             double min_lr) {
  SEQ_CHECK(step >= 0, "lr_at: step must be >= 0, got ", step);
  SEQ_CHECK(warmup_steps >= 0, "lr_at: warmup_steps must be >= 0, got ", warmup_steps);
  SEQ_CHECK(base_lr >= 0.0 && min_lr >= 0.0 && min_lr <= base_lr, "lr_at: need 0 <= min_lr (",
            min_lr, ") <= base_lr (", base_lr, ")");
  SEQ_CHECK(s == LrSchedule::Constant || total_steps > warmup_steps,
            "lr_at: a decaying schedule needs total_steps (", total_steps, ") > warmup_steps (",
            warmup_steps, ")");
  if (step < warmup_steps) return base_lr * double(step) / double(warmup_steps);
  if (s == LrSchedule::Constant) return base_lr;
  const double t = std::min(1.0, double(step - warmup_steps) / double(total_steps - warmup_steps));
  const double f = s == LrSchedule::Linear ? 1.0 - t : 0.5 * (1.0 + std::cos(std::numbers::pi * t));
  return min_lr + (base_lr - min_lr) * f;
}

}  // namespace seqmend
