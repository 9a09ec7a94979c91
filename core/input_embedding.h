// Input layer: item + learned position + action type + time-gap bucket embeddings, summed per token,
// then LayerNorm and dropout. The item table is shared with the output layer (tied weights).
#pragma once

#include "core/activation.h"
#include "core/batch.h"
#include "core/device_batch.h"
#include "core/model_config.h"
#include "core/param_buffer.h"
#include "kernels/dropout.h"

namespace seqmend {

class InputEmbedding {
 public:
  static void register_params(ParamBuffer& pb, const ModelConfig& cfg);
  void bind(ParamBuffer& pb, const ModelConfig& cfg, Device dev);

  // out (N, C) = dropout(LayerNorm(item[b.item] + pos[b.position] + action[b.action] + gap[b.gap])).
  void forward(float* out, const Batch& b, const BatchArrays& a, const DropoutSpec& drop);
  // Accumulates the four tables' and the LayerNorm's gradients from dout (N, C). scratch (N, C) is
  // clobbered.
  void backward(const float* dout, const Batch& b, const BatchArrays& a, const DropoutSpec& drop,
                float* scratch);

  const Activation& sum() const { return sum_; }

 private:
  ModelConfig cfg_;
  Device dev_ = Device::CPU;
  // parameters and their gradients (views into the flat buffers)
  float* item_ = nullptr;      // (V + 2, C) shared with the output layer
  float* pos_ = nullptr;       // (T, C)
  float* action_ = nullptr;    // (num_actions, C)
  float* gap_ = nullptr;       // (num_gap_buckets, C)
  float* ln_w_ = nullptr;      // (C)
  float* ln_b_ = nullptr;      // (C)
  float* ditem_ = nullptr;     // (V + 2, C)
  float* dpos_ = nullptr;      // (T, C)
  float* daction_ = nullptr;   // (num_actions, C)
  float* dgap_ = nullptr;      // (num_gap_buckets, C)
  float* dln_w_ = nullptr;     // (C)
  float* dln_b_ = nullptr;     // (C)
  // activations
  Activation sum_;             // (N, C) summed embeddings, the LayerNorm input
  Activation mean_, rstd_;     // (N, 1) LayerNorm statistics
  Activation dsum_;            // (N, C) gradient of sum_ (backward only)
};

}  // namespace seqmend
