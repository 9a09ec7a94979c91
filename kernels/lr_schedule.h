// Learning-rate schedules as pure functions of the step, so a resumed run gets the same rates.
#pragma once

#include <cstdint>
#include <string>

namespace seqmend {

enum class LrSchedule { Constant, Linear, Cosine };

LrSchedule parse_lr_schedule(const std::string& name);  // "constant" | "linear" | "cosine"

// step is 0-based. Linear warmup from 0 to base over warmup_steps, then constant, linear decay to
// min_lr, or cosine decay to min_lr at total_steps.
double lr_at(LrSchedule s, int64_t step, double base_lr, int64_t warmup_steps, int64_t total_steps,
             double min_lr = 0.0);

}  // namespace seqmend
