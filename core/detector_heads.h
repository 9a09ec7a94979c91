// The detector's three heads on top of the encoder's hidden states H (N, C) of a packed batch:
//   event    — per token: is this event noise (noise click, substitution, burst repeat)?   → (N)
//   gap      — per token: were events dropped just before this one?                        → (N)
//   sequence — per sequence: σ(MLP(mean of H over the sequence's tokens)): is it a bot?   → (B)
// Each head is fc1 (C → D) → GELU → fc2 (D → 1), or a single linear layer when D = 0. All heads'
// parameters sit in one flat ParamBuffer with named views (`event.fc1.w` ...), like the encoder's,
// so the optimizer, the gradient all-reduce and checkpoints each see one buffer. The heads output
// logits; probabilities are σ(logit). Parameters, activations and logits live on the heads' device
// (the encoder's): H, dH and the logits' gradients are device pointers there.
#pragma once

#include <cstdint>

#include "core/activation.h"
#include "core/batch.h"
#include "core/param_buffer.h"

namespace seqmend {

class ConfigVisitor;

struct DetectorHeadsConfig {
  int hidden = 64;          // D: width of each head's hidden layer; 0 = linear heads
  float init_std = 0.02f;   // N(0, init_std²) for the weight matrices
  uint64_t seed = 7;        // parameter init

  void visit(ConfigVisitor& v);  // core/detector.cpp
};

// One MLP head: fc1 (C → D) + GELU + fc2 (D → 1), or fc2 (C → 1) alone when D = 0.
class MlpHead {
 public:
  static void register_params(ParamBuffer& pb, const std::string& name, int C, int D);
  void bind(ParamBuffer& pb, const std::string& name, int C, int D, Device dev);
  // logits (R) = head(inp (R, C)); keeps inp's pointer and its own activations for backward.
  void forward(float* logits, const float* inp, int64_t R);
  // Accumulates the head's parameter gradients and dinp (R, C) += ∂/∂inp for dlogits (R).
  void backward(float* dinp, const float* dlogits);

 private:
  int C_ = 0, D_ = 0;
  Device dev_ = Device::CPU;
  int64_t R_ = 0;
  const float* inp_ = nullptr;
  float *w1_ = nullptr, *b1_ = nullptr, *w2_ = nullptr, *b2_ = nullptr;      // (D, C) (D) (1, D|C) (1)
  float *dw1_ = nullptr, *db1_ = nullptr, *dw2_ = nullptr, *db2_ = nullptr;
  Activation z1_, a1_, da1_, dz1_;  // (R, D)
};

class DetectorHeads {
 public:
  DetectorHeads(const DetectorHeadsConfig& cfg, int d_model, Device dev = Device::CPU);

  const DetectorHeadsConfig& config() const { return cfg_; }
  ParamBuffer& params() { return pb_; }
  Device device() const { return dev_; }

  // Fills event_logits() (N), gap_logits() (N) and seq_logits() (B) from H (N, C).
  void forward(const float* H, const Batch& b);
  // Accumulates head gradients and dH (N, C) += ∂loss/∂H for the logits' gradients
  // devent (N), dgap (N), dseq (B) (any may be null: that head gets no gradient).
  void backward(float* dH, const Batch& b, const float* devent, const float* dgap, const float* dseq);

  const float* event_logits() const { return event_.f(); }
  const float* gap_logits() const { return gap_.f(); }
  const float* seq_logits() const { return seq_.f(); }

 private:
  DetectorHeadsConfig cfg_;
  int C_;
  Device dev_;
  ParamBuffer pb_;
  MlpHead event_head_, gap_head_, seq_head_;
  Activation event_, gap_, seq_;  // (N, 1) (N, 1) (B, 1) logits
  Activation pooled_, dpooled_;   // (B, C) mean of H over each sequence
  const int64_t* cu_ = nullptr;   // the batch's cu_seqlens where the pooling reads them
  Tensor cu_dev_;                 // their device copy (CUDA)
  int64_t N_ = 0, B_ = 0;
};

}  // namespace seqmend
