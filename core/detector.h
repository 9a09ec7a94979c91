// The anomaly detector: the BERT4Rec encoder (core/model.h) with three heads on its final hidden
// states (core/detector_heads.h). Loss = Σ_head weight_head · mean sigmoid focal loss of the head
// over its labelled items (kernels/focal_loss.h, α and γ from the config):
//   event head    — positives: noise click, substitution, burst repeat; negatives: clean and
//                   gap-after events (both genuine); bot events are left out;
//   gap head      — positives: gap-after; negatives: every other event of a human sequence;
//   sequence head — positives: the three bot kinds; negatives: clean sequences.
// (The same split of label codes as experiments/eval/detection_metrics.h.)
//
//   Detector det(model_cfg, det_cfg);
//   DetectorTargets y = detector_targets(batch, labelled_set, seqs);
//   auto loss = det.forward(batch, y, {.train = true, .dropout_seed = s});
//   det.backward(batch);   // heads, then the encoder unless freeze_encoder
// On Device::CUDA the encoder, the heads and the focal losses run on the GPU; the targets travel
// there each step and only the losses (and score()'s probabilities) come back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/detector_heads.h"
#include "core/model.h"
#include "io/sequence_set.h"

namespace seqmend {

struct DetectorConfig {
  DetectorHeadsConfig heads;
  double focal_alpha = 0.25;  // α of the focal loss (< 0: no class weighting)
  double focal_gamma = 2.0;   // γ
  double event_weight = 1.0;  // loss weights of the three heads
  double gap_weight = 1.0;
  double sequence_weight = 1.0;
  bool freeze_encoder = false;  // true: only the heads train (no encoder backward, no encoder dropout)

  void visit(ConfigVisitor& v);
};

// Per-head targets (0/1) and weights (1 = labelled, 0 = left out) aligned with a packed batch.
struct DetectorTargets {
  std::vector<float> event_y, event_w;  // (N)
  std::vector<float> gap_y, gap_w;      // (N)
  std::vector<float> seq_y, seq_w;      // (B)
  double event_count() const;  // Σ weights: the head's loss denominator on this batch
  double gap_count() const;
  double seq_count() const;
};

// Targets for batch `b` built from sequences seqs[0..B) of `set` (the batch's sequence s is
// set's sequence seqs[s], truncated to its newest events as make_plain_batch does). Without a label
// column every weight is 0; without seq_label the sequence weights are 0.
DetectorTargets detector_targets(const Batch& b, const SequenceSet& set, const std::vector<int64_t>& seqs);

// Leaves out of the loss the `share` of the labelled negatives (y = 0, w > 0) with the highest
// current probability p: their weight becomes 0 (ties broken by index). Why: in data that was noisy
// before the injection, the negatives hold unlabelled anomalies; they score high while the model has
// not learnt them as normal, and a model trained to call them normal learns the log's noise as
// behaviour (noisy labels are fitted late; the small-loss selection keeps them out).
void drop_top_negatives(std::span<const float> y, std::span<float> w, std::span<const float> p, double share);

struct DetectorForward {
  bool train = true;
  uint64_t dropout_seed = 0;
  bool need_grads = true;
  // Loss denominators per head (data-parallel: the global counts); <= 0: this batch's counts.
  double event_denominator = 0, gap_denominator = 0, seq_denominator = 0;
};

struct DetectorLoss {
  double total = 0;                    // Σ weight · part
  double event = 0, gap = 0, sequence = 0;  // Σ focal / denominator of each head (0 when no items)
};

class Detector {
 public:
  Detector(const ModelConfig& model, const DetectorConfig& cfg, Device dev = Device::CPU);

  const DetectorConfig& config() const { return cfg_; }
  Device device() const { return encoder_.device(); }
  ItemTransformer& encoder() { return encoder_; }
  DetectorHeads& heads() { return heads_; }

  DetectorLoss forward(const Batch& b, const DetectorTargets& y, const DetectorForward& opt);
  // Accumulates head gradients, and encoder gradients unless freeze_encoder.
  void backward(const Batch& b);
  // Probabilities σ(logit) on the host: event (N), gap (N), seq (B); any output may be null.
  void score(const Batch& b, float* event_p, float* gap_p, float* seq_p);

 private:
  DetectorConfig cfg_;
  ItemTransformer encoder_;
  DetectorHeads heads_;
  Activation devent_, dgap_, dseq_;  // (N, 1) (N, 1) (B, 1) logit gradients
  Activation dH_;                    // (N, C)
  Activation targets_;               // (6, N|B) the targets and weights where the focal loss reads them
  std::vector<float> host_logits_;   // score(): the logits copied back from the device
  const float* H_ = nullptr;
  bool have_grads_ = false;
};

}  // namespace seqmend
