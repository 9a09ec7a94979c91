#include "core/detector_heads.h"

#include "core/base/error.h"
#include "kernels/gelu.h"
#include "kernels/matmul.h"
#include "kernels/segment_mean.h"

namespace seqmend {

void MlpHead::register_params(ParamBuffer& pb, const std::string& name, int C, int D) {
  if (D > 0) {
    pb.add(name + ".fc1.w", {D, C}, ParamInit::Normal, true);
    pb.add(name + ".fc1.b", {D}, ParamInit::Zeros, false);
  }
  pb.add(name + ".fc2.w", {1, D > 0 ? D : C}, ParamInit::Normal, true);
  pb.add(name + ".fc2.b", {1}, ParamInit::Zeros, false);
}

void MlpHead::bind(ParamBuffer& pb, const std::string& name, int C, int D, Device dev) {
  C_ = C;
  D_ = D;
  dev_ = dev;
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
    matmul_forward(dev_, logits, inp, w2_, b2_, R, C_, 1);
    return;
  }
  z1_.ensure(R, D_, DType::F32, dev_);
  a1_.ensure(R, D_, DType::F32, dev_);
  matmul_forward(dev_, z1_.f(), inp, w1_, b1_, R, C_, D_);
  gelu_forward(dev_, a1_.f(), z1_.f(), R * D_);
  matmul_forward(dev_, logits, a1_.f(), w2_, b2_, R, D_, 1);
}

void MlpHead::backward(float* dinp, const float* dlogits) {
  if (R_ == 0) return;
  if (D_ == 0) {
    matmul_backward(dev_, dinp, dw2_, db2_, dlogits, inp_, w2_, R_, C_, 1);
    return;
  }
  da1_.ensure(R_, D_, DType::F32, dev_);
  dz1_.ensure(R_, D_, DType::F32, dev_);
  da1_.t.zero_();
  dz1_.t.zero_();
  matmul_backward(dev_, da1_.f(), dw2_, db2_, dlogits, a1_.f(), w2_, R_, D_, 1);
  gelu_backward(dev_, dz1_.f(), z1_.f(), da1_.f(), R_ * D_);
  matmul_backward(dev_, dinp, dw1_, db1_, dz1_.f(), inp_, w1_, R_, C_, D_);
}

DetectorHeads::DetectorHeads(const DetectorHeadsConfig& cfg, int d_model, Device dev)
    : cfg_(cfg), C_(d_model), dev_(dev) {
  SEQ_CHECK(d_model >= 1, "DetectorHeads: d_model must be >= 1, got ", d_model);
  SEQ_CHECK(cfg.hidden >= 0, "DetectorHeads: heads.hidden must be >= 0, got ", cfg.hidden);
  SEQ_CHECK(cfg.init_std > 0.0f, "DetectorHeads: heads.init_std must be > 0, got ", cfg.init_std);
  MlpHead::register_params(pb_, "event", C_, cfg.hidden);
  MlpHead::register_params(pb_, "gap", C_, cfg.hidden);
  MlpHead::register_params(pb_, "sequence", C_, cfg.hidden);
  pb_.allocate(dev);
  pb_.init(cfg.seed, cfg.init_std);
  event_head_.bind(pb_, "event", C_, cfg.hidden, dev);
  gap_head_.bind(pb_, "gap", C_, cfg.hidden, dev);
  seq_head_.bind(pb_, "sequence", C_, cfg.hidden, dev);
}

void DetectorHeads::forward(const float* H, const Batch& b) {
  SEQ_CHECK(int64_t(b.cu_seqlens.size()) == b.B + 1 && (b.B == 0 || b.cu_seqlens.back() == b.N),
            "DetectorHeads forward: cu_seqlens of ", b.cu_seqlens.size(), " offsets for B ", b.B, ", N ", b.N);
  N_ = b.N;
  B_ = b.B;
  event_.ensure(N_, 1, DType::F32, dev_);
  gap_.ensure(N_, 1, DType::F32, dev_);
  seq_.ensure(B_, 1, DType::F32, dev_);
  pooled_.ensure(B_, C_, DType::F32, dev_);
  cu_ = b.cu_seqlens.data();
  if (dev_ != Device::CPU) {
    const size_t bytes = sizeof(int64_t) * size_t(B_ + 1);
    if (!cu_dev_.defined() || cu_dev_.nbytes() < bytes) cu_dev_ = Tensor::empty({B_ + 1}, DType::I64, dev_);
    copy_bytes(cu_dev_.raw(), dev_, cu_, Device::CPU, bytes);
    cu_ = static_cast<const int64_t*>(cu_dev_.raw());
  }
  event_head_.forward(event_.f(), H, N_);
  gap_head_.forward(gap_.f(), H, N_);
  segment_mean_forward(dev_, pooled_.f(), H, cu_, B_, C_);
  seq_head_.forward(seq_.f(), pooled_.f(), B_);
}

void DetectorHeads::backward(float* dH, const Batch& b, const float* devent, const float* dgap,
                             const float* dseq) {
  SEQ_CHECK(b.N == N_ && b.B == B_, "DetectorHeads backward: batch (B ", b.B, ", N ", b.N,
            ") differs from the forward's (B ", B_, ", N ", N_, ")");
  if (devent) event_head_.backward(dH, devent);
  if (dgap) gap_head_.backward(dH, dgap);
  if (dseq) {
    dpooled_.ensure(B_, C_, DType::F32, dev_);
    dpooled_.t.zero_();
    seq_head_.backward(dpooled_.f(), dseq);
    segment_mean_backward(dev_, dH, dpooled_.f(), cu_, B_, C_);
  }
}

}  // namespace seqmend
