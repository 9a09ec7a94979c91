#include "core/detector_heads.h"

#include <cstring>

#include "core/base/error.h"
#include "kernels/gelu.h"
#include "kernels/matmul.h"

namespace seqmend {

void MlpHead::register_params(ParamBuffer& pb, const std::string& name, int C, int D) {
  if (D > 0) {
    pb.add(name + ".fc1.w", {D, C}, ParamInit::Normal, true);
    pb.add(name + ".fc1.b", {D}, ParamInit::Zeros, false);
  }
  pb.add(name + ".fc2.w", {1, D > 0 ? D : C}, ParamInit::Normal, true);
  pb.add(name + ".fc2.b", {1}, ParamInit::Zeros, false);
}

void MlpHead::bind(ParamBuffer& pb, const std::string& name, int C, int D) {
  C_ = C;
  D_ = D;
  if (D > 0) {
    w1_ = pb.param_ptr(name + ".fc1.w");
    b1_ = pb.param_ptr(name + ".fc1.b");
    dw1_ = pb.grad_ptr(name + ".fc1.w");
    db1_ = pb.grad_ptr(name + ".fc1.b");
  }
  w2_ = pb.param_ptr(name + ".fc2.w");
  b2_ = pb.param_ptr(name + ".fc2.b");
  dw2_ = pb.grad_ptr(name + ".fc2.w");
  db2_ = pb.grad_ptr(name + ".fc2.b");
}

void MlpHead::forward(float* logits, const float* inp, int64_t R) {
  inp_ = inp;
  R_ = R;
  if (R == 0) return;
  if (D_ == 0) {
    matmul_forward(Device::CPU, logits, inp, w2_, b2_, R, C_, 1);
    return;
  }
  z1_.ensure(R, D_);
  a1_.ensure(R, D_);
  matmul_forward(Device::CPU, z1_.f(), inp, w1_, b1_, R, C_, D_);
  gelu_forward(Device::CPU, a1_.f(), z1_.f(), R * D_);
  matmul_forward(Device::CPU, logits, a1_.f(), w2_, b2_, R, D_, 1);
}

void MlpHead::backward(float* dinp, const float* dlogits) {
  if (R_ == 0) return;
  if (D_ == 0) {
    matmul_backward(Device::CPU, dinp, dw2_, db2_, dlogits, inp_, w2_, R_, C_, 1);
    return;
  }
  da1_.ensure(R_, D_);
  dz1_.ensure(R_, D_);
  da1_.t.zero_();
  dz1_.t.zero_();
  matmul_backward(Device::CPU, da1_.f(), dw2_, db2_, dlogits, a1_.f(), w2_, R_, D_, 1);
  gelu_backward(Device::CPU, dz1_.f(), z1_.f(), da1_.f(), R_ * D_);
  matmul_backward(Device::CPU, dinp, dw1_, db1_, dz1_.f(), inp_, w1_, R_, C_, D_);
}

DetectorHeads::DetectorHeads(const DetectorHeadsConfig& cfg, int d_model) : cfg_(cfg), C_(d_model) {
  SEQ_CHECK(d_model >= 1, "DetectorHeads: d_model must be >= 1, got ", d_model);
  SEQ_CHECK(cfg.hidden >= 0, "DetectorHeads: heads.hidden must be >= 0, got ", cfg.hidden);
  SEQ_CHECK(cfg.init_std > 0.0f, "DetectorHeads: heads.init_std must be > 0, got ", cfg.init_std);
  MlpHead::register_params(pb_, "event", C_, cfg.hidden);
  MlpHead::register_params(pb_, "gap", C_, cfg.hidden);
  MlpHead::register_params(pb_, "sequence", C_, cfg.hidden);
  pb_.allocate(Device::CPU);
  pb_.init(cfg.seed, cfg.init_std);
  event_head_.bind(pb_, "event", C_, cfg.hidden);
  gap_head_.bind(pb_, "gap", C_, cfg.hidden);
  seq_head_.bind(pb_, "sequence", C_, cfg.hidden);
}

void DetectorHeads::forward(const float* H, const Batch& b) {
  N_ = b.N;
  B_ = b.B;
  event_.ensure(N_, 1);
  gap_.ensure(N_, 1);
  seq_.ensure(B_, 1);
  pooled_.ensure(B_, C_);
  event_head_.forward(event_.f(), H, N_);
  gap_head_.forward(gap_.f(), H, N_);
  // Mean pooling over each packed sequence; an empty sequence pools to zeros.
  float* P = pooled_.f();
  for (int64_t s = 0; s < B_; ++s) {
    float* p = P + s * C_;
    std::memset(p, 0, sizeof(float) * size_t(C_));
    const int64_t lo = b.cu_seqlens[size_t(s)], hi = b.cu_seqlens[size_t(s) + 1];
    for (int64_t t = lo; t < hi; ++t)
      for (int c = 0; c < C_; ++c) p[c] += H[t * C_ + c];
    const float inv = hi > lo ? 1.0f / float(hi - lo) : 0.0f;
    for (int c = 0; c < C_; ++c) p[c] *= inv;
  }
  seq_head_.forward(seq_.f(), P, B_);
}

void DetectorHeads::backward(float* dH, const Batch& b, const float* devent, const float* dgap,
                             const float* dseq) {
  SEQ_CHECK(b.N == N_ && b.B == B_, "DetectorHeads backward: batch (B ", b.B, ", N ", b.N,
            ") differs from the forward's (B ", B_, ", N ", N_, ")");
  if (devent) event_head_.backward(dH, devent);
  if (dgap) gap_head_.backward(dH, dgap);
  if (dseq) {
    dpooled_.ensure(B_, C_);
    dpooled_.t.zero_();
    seq_head_.backward(dpooled_.f(), dseq);
    const float* dP = dpooled_.f();
    for (int64_t s = 0; s < B_; ++s) {
      const int64_t lo = b.cu_seqlens[size_t(s)], hi = b.cu_seqlens[size_t(s) + 1];
      if (hi == lo) continue;
      const float inv = 1.0f / float(hi - lo);
      for (int64_t t = lo; t < hi; ++t)
        for (int c = 0; c < C_; ++c) dH[t * C_ + c] += dP[s * C_ + c] * inv;
    }
  }
}

}  // namespace seqmend
