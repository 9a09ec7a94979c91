// Parameters after AdamW steps on two devices (or two summation orders), compared so that rounding
// noise passes and a real difference does not.
//
// Why not a plain relative tolerance: AdamW normalises each element's step to ~lr whatever the
// gradient's size, so rounding noise in a small gradient becomes a visible move. Some gradients are
// mathematically zero — the key third of every attention qkv bias (softmax ignores a constant added
// to every key's score) — and in f32 hold only rounding noise (~1e-9) that differs between devices
// (FMA, summation order): AdamW's first step moves such an element by ~lr·sign(noise), +lr on one
// device and −lr on the other. So the comparison is in units of the step size:
// - an element whose reference gradient fell below a noise floor (1e-3 of its tensor's mean |g|) at
//   any step so far may differ by 2.1·lr per step taken: bias-corrected Adam (β1 0.9, β2 0.999)
//   moves an element by at most 1.01·lr per step for t ≤ 3 (Cauchy–Schwarz on m̂/√v̂), the two
//   devices in opposite directions, weight decay adding lr·wd·|p|;
// - every other element may differ by tol × max(|want|, the tensor's mean |want|) plus 0.02·lr per
//   step: f32 sums over thousands of terms with cancellation differ by up to ~1e-6 of the tensor's
//   mean |g|, which above the floor changes a normalised step by at most ~1e-3·lr — 0.02·lr leaves a
//   margin of 20, while a real error (a wrong update rule, a gradient off by 10 % of its tensor's
//   scale) moves elements by a sizeable fraction of lr. Smaller gradient errors are the gradient
//   comparison's to catch (it compares the gradients themselves, before AdamW normalises them).
#pragma once

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/param_buffer.h"

namespace seqmend::test_support {

// "" when `got` matches `want`, else one line per parameter tensor out of tolerance.
inline std::string params_after_adamw_mismatch(const ParamBuffer& pb, const std::vector<float>& got,
                                               const std::vector<float>& want,
                                               const std::vector<std::vector<float>>& ref_grads, double tol,
                                               double lr) {
  std::ostringstream out;
  if (got.size() != want.size()) return "sizes differ";
  const double noise_move = 2.1 * lr * double(ref_grads.size());
  const double rounding_move = 0.02 * lr * double(ref_grads.size());
  for (const ParamEntry& e : pb.entries()) {
    std::vector<bool> noise(size_t(e.numel), false);
    for (const std::vector<float>& g : ref_grads) {
      double mean_g = 0.0;
      for (int64_t j = 0; j < e.numel; ++j) mean_g += std::fabs(g[size_t(e.offset + j)]);
      mean_g /= double(e.numel);
      for (int64_t j = 0; j < e.numel; ++j)
        if (std::fabs(g[size_t(e.offset + j)]) <= 1e-3 * mean_g) noise[size_t(j)] = true;
    }
    double mean_abs = 0.0;
    for (int64_t j = 0; j < e.numel; ++j) mean_abs += std::fabs(want[size_t(e.offset + j)]);
    mean_abs /= double(e.numel);
    for (int64_t j = 0; j < e.numel; ++j) {
      const size_t k = size_t(e.offset + j);
      const double diff = std::fabs(double(got[k]) - double(want[k]));
      const double ref = std::max<double>(std::fabs(want[k]), mean_abs);
      const double allowed = noise[size_t(j)] ? noise_move : tol * (ref > 0 ? ref : 1.0) + rounding_move;
      const bool ok = diff <= allowed;
      if (!ok || std::isnan(diff)) {
        out << e.name << "[" << j << "]: got " << got[k] << " want " << want[k]
            << (noise[size_t(j)] ? " (noise-floor element, allowed " : " (allowed ")
            << allowed << ")\n";
        break;
      }
    }
  }
  return out.str();
}

}  // namespace seqmend::test_support
