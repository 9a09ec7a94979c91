#include "kernels/focal_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/error.h"
#include "kernels/dispatch.h"

namespace seqmend {

// Per element, in double (n is one value per token, so the cost is small next to the model).
// With the soft-target form that torchvision's sigmoid_focal_loss uses (equal to the header's
// definition for y in {0, 1}):
//   ce = softplus(x) − x·y             (binary cross-entropy with logits)
//   q  = 1 − p_t = p·(1 − y) + (1 − p)·y
//   loss = α_t · q^γ · ce,  α_t = α·y + (1 − α)·(1 − y)
// Stability: with e = exp(−|x|) every term is written without cancellation,
//   ce = max(x, 0) − x·y + log1p(e) = x·(1 − y) + log1p(e) for x >= 0, −x·y + log1p(e) for x < 0
//   p = 1/(1 + e), 1 − p = e/(1 + e) for x >= 0 (mirrored for x < 0).
// Gradient: ∂loss/∂x = α_t · q^γ · [(p − y) + γ·(1 − 2y)·r·ce] with r = p(1 − p)/q, because
// ∂q/∂x = p(1 − p)(1 − 2y). r <= 1 always (q >= min(p, 1 − p)), so the q^(γ−1) that makes the
// textbook form blow up at p_t → 1 for γ < 1 never appears.
namespace {

struct FocalTerm {
  double loss;
  double grad;
};

FocalTerm focal_term(double x, double y, double alpha, double gamma) {
  const double e = std::exp(-std::fabs(x));
  const double l1p = std::log1p(e);
  double ce, p, p1, qn;  // qn = q · (1 + e)
  if (x >= 0) {
    ce = x * (1.0 - y) + l1p;
    p = 1.0 / (1.0 + e);
    p1 = e / (1.0 + e);
    qn = (1.0 - y) + e * y;
  } else {
    ce = -x * y + l1p;
    p = e / (1.0 + e);
    p1 = 1.0 / (1.0 + e);
    qn = e * (1.0 - y) + y;
  }
  const double q = qn / (1.0 + e);
  // q^γ from logs: log q = log qn − log1p(e); γ = 0 gives exactly 1 (also for q = 0).
  double qg;
  if (gamma == 0.0)
    qg = 1.0;
  else if (gamma == 2.0)
    qg = q * q;
  else
    qg = qn > 0.0 ? std::exp(gamma * (std::log(qn) - l1p)) : 0.0;
  const double r = q > 0.0 ? p * p1 / q : 0.0;
  const double at = alpha < 0.0 ? 1.0 : alpha * y + (1.0 - alpha) * (1.0 - y);
  return {at * qg * ce, at * qg * ((p - y) + gamma * (1.0 - 2.0 * y) * r * ce)};
}

}  // namespace

double sigmoid_focal_loss(Device dev, const FocalArgs& a, float* dlogits, float scale) {
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(sigmoid_focal_loss, a, dlogits, scale);
  SEQ_CHECK(a.n >= 0, "sigmoid_focal_loss: bad size n=", a.n);
  SEQ_CHECK(a.n == 0 || (a.logits && a.targets), "sigmoid_focal_loss: logits/targets are null");
  SEQ_CHECK(a.gamma >= 0.0f && std::isfinite(a.gamma),
            "sigmoid_focal_loss: gamma must be >= 0, got ", a.gamma);
  SEQ_CHECK(a.alpha <= 1.0f, "sigmoid_focal_loss: alpha must be <= 1 (or < 0 to disable), got ",
            a.alpha);
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
