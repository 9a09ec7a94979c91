// One element of the sigmoid focal loss and its gradient, in double: the single definition the CPU
// kernel (focal_loss.cpp) and its CUDA twin (focal_loss.cu) both call.
//
// With the soft-target form that torchvision's sigmoid_focal_loss uses (equal to focal_loss.h's
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
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define SEQ_HOST_DEVICE __host__ __device__
#else
#define SEQ_HOST_DEVICE
#endif

namespace seqmend {

struct FocalTerm {
  double loss;
  double grad;
};

SEQ_HOST_DEVICE inline FocalTerm focal_term(double x, double y, double alpha, double gamma) {
  using std::exp, std::fabs, std::log, std::log1p;
  const double e = exp(-fabs(x));
  const double l1p = log1p(e);
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
    qg = qn > 0.0 ? exp(gamma * (log(qn) - l1p)) : 0.0;
  const double r = q > 0.0 ? p * p1 / q : 0.0;
  const double at = alpha < 0.0 ? 1.0 : alpha * y + (1.0 - alpha) * (1.0 - y);
  return {at * qg * ce, at * qg * ((p - y) + gamma * (1.0 - 2.0 * y) * r * ce)};
}

}  // namespace seqmend
