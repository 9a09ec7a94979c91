#include "kernels/focal_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/error.h"
#include "kernels/dispatch.h"
#include "kernels/focal_term.h"

namespace seqmend {

// Per element, in double (n is one value per token, so the cost is small next to the model); the
// term itself is kernels/focal_term.h, shared with the CUDA twin.

double sigmoid_focal_loss(Device dev, const FocalArgs& a, float* dlogits, float scale) {
  SEQ_CHECK(a.n >= 0, "sigmoid_focal_loss: bad size n=", a.n);
  SEQ_CHECK(a.n == 0 || (a.logits && a.targets), "sigmoid_focal_loss: logits/targets are null");
  SEQ_CHECK(a.gamma >= 0.0f && std::isfinite(a.gamma),
            "sigmoid_focal_loss: gamma must be >= 0, got ", a.gamma);
  SEQ_CHECK(a.alpha <= 1.0f, "sigmoid_focal_loss: alpha must be <= 1 (or < 0 to disable), got ",
            a.alpha);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(sigmoid_focal_loss, a, dlogits, scale);
  // Targets are checked serially first so the reported element is deterministic.
  for (int64_t i = 0; i < a.n; ++i) {
    const float y = a.targets[i];
    if (!(y >= 0.0f && y <= 1.0f)) [[unlikely]]
      SEQ_FAIL("sigmoid_focal_loss: target ", y, " at element ", i, " is outside [0, 1]");
  }
  const double alpha = a.alpha, gamma = a.gamma;
  constexpr int64_t kChunk = 1024;
  const int64_t nchunks = (a.n + kChunk - 1) / kChunk;
  std::vector<double> partial(size_t(nchunks), 0.0);
#pragma omp parallel for schedule(static) if (nchunks > 1)
  for (int64_t ch = 0; ch < nchunks; ++ch) {
    const int64_t i1 = std::min(a.n, (ch + 1) * kChunk);
    double acc = 0.0;
    for (int64_t i = ch * kChunk; i < i1; ++i) {
      const double w = a.weights ? double(a.weights[i]) : 1.0;
      const FocalTerm t = focal_term(a.logits[i], a.targets[i], alpha, gamma);
      acc += w * t.loss;
      if (dlogits) dlogits[i] += float(double(scale) * w * t.grad);
    }
    partial[size_t(ch)] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  if (!std::isfinite(total)) [[unlikely]] {
    // Name the first element that made it so.
    for (int64_t i = 0; i < a.n; ++i) {
      const double w = a.weights ? double(a.weights[i]) : 1.0;
      const double li = w * focal_term(a.logits[i], a.targets[i], alpha, gamma).loss;
      if (!std::isfinite(li))
        SEQ_FAIL("sigmoid_focal_loss: loss ", li, " at element ", i, " (logit ", a.logits[i],
                 ", target ", a.targets[i], ", weight ", w, ")");
    }
    SEQ_FAIL("sigmoid_focal_loss: the summed loss is not finite (", total, ")");
  }
  return total;
}

}  // namespace seqmend
