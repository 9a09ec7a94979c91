// ItemTransformer, the one model: input embedding → L pre-LN transformer blocks → final LayerNorm →
// output layer tied to the item embedding (plus a bias), scored with a full softmax over items 1..V
// at the target rows only. The final LayerNorm also runs at the target rows only: no other row
// reaches the loss. Its objective (model.objective) is cloze — bidirectional attention, masked items
// as targets, as BERT4Rec — or causal — left-to-right attention, every next item a target, as
// SASRec; the batch makers (core/batch.h) and attention's mask follow it.
#pragma once

#include <functional>
#include <vector>

#include "core/activation.h"
#include "core/batch.h"
#include "core/device_batch.h"
#include "core/input_embedding.h"
#include "core/model_config.h"
#include "core/param_buffer.h"
#include "core/transformer_block.h"

namespace seqmend {

struct ForwardOptions {
  bool train = true;        // dropout on
  bool need_grads = true;   // fuse the output-layer gradient into the loss pass (for backward())
  uint64_t dropout_seed = 0;
  int64_t xent_chunk_rows = 256;
  // Divides the summed cross-entropy (loss and gradients) instead of this batch's M: data-parallel
  // training passes the target count of the whole global batch, so per-rank gradients add up to
  // the global mean. 0 = M.
  double loss_denominator = 0.0;
};

// Called during backward() each time every parameter from registration index `first_entry` on
// (ParamBuffer::entries()) holds its final gradient: a data-parallel trainer starts all-reducing
// those while backward carries on with earlier layers. Indices only decrease within one backward.
using GradReadyHook = std::function<void(size_t first_entry)>;

class ItemTransformer {
 public:
  explicit ItemTransformer(const ModelConfig& cfg, Device dev = Device::CPU);

  const ModelConfig& config() const { return cfg_; }
  ParamBuffer& params() { return pb_; }
  Device device() const { return dev_; }

  // Mean cross-entropy over the batch's target rows (every target item must be 1..V). With
  // need_grads, the output layer's gradients (tied item table, output bias) are accumulated into the
  // gradient buffer already here — the logits are computed once, for loss and gradient together —
  // and backward() does the rest. A non-finite loss throws an Error naming the first activation that
  // went non-finite (or the loss itself) and the value.
  double forward(const Batch& b, const ForwardOptions& opt);
  // Accumulates every parameter's gradient of the last forward's loss. The batch must be the one
  // given to forward (its buffers are read again) and forward must have had need_grads.
  void backward(const Batch& b);
  // Empty (the default) = no calls.
  void set_grad_ready_hook(GradReadyHook hook) { grad_ready_ = std::move(hook); }

  // Forward without dropout or loss: final-LayerNorm hidden states (R, C) at the packed token rows
  // `rows` (e.g. b.target_rows), for evaluation and scoring; on the host whatever the device.
  Tensor hidden_at(const Batch& b, const std::vector<int64_t>& rows);

  // Encoder only, for heads trained on top of it (core/detector.h): forward with no output layer and
  // no loss; returns the final-LayerNorm hidden states of every packed token, (N, C), on the model's
  // device, valid until the next forward/encode call. backward_from_hidden then accumulates every
  // parameter gradient except out.bias from dH = ∂loss/∂H (N, C, on the model's device); the batch
  // must be the one given to encode_hidden.
  const Tensor& encode_hidden(const Batch& b, bool train, uint64_t dropout_seed);
  void backward_from_hidden(const Batch& b, const float* dH);

  // FLOPs of one training step on this batch (forward + backward, matmuls and attention only),
  // counting valid tokens only; the same count is used for every engine compared against.
  double train_flops(const Batch& b) const;

 private:
  void encode(const Batch& b, bool train, uint64_t dropout_seed);  // fills blocks' outputs
  const float* encoder_out() const;                                // (N, C)
  void gather_final_ln(const Batch& b, const std::vector<int64_t>& rows);
  [[noreturn]] void report_nonfinite(const std::string& what);
  // From dhead_ at the rows the last gather_final_ln took (the same rows: backward needs the
  // forward or encode_hidden that gathered them, with nothing in between).
  void backward_rows(const Batch& b);

  ModelConfig cfg_;
  Device dev_;
  ParamBuffer pb_;
  InputEmbedding emb_;
  std::vector<TransformerBlock> blocks_;
  BlockScratch scratch_;
  float *lnf_w_, *lnf_b_, *out_bias_;     // (C), (C), (V + 2) output bias, indexed by item id
  float *dlnf_w_, *dlnf_b_, *dout_bias_;
  // activations
  Activation x0_;               // (N, C) embedding output (block 0's input)
  Activation head_in_;          // (M, C) encoder output gathered at the target rows
  Activation head_mean_, head_rstd_;  // (M, 1)
  Activation head_;             // (M, C) final LayerNorm output at the target rows
  Activation dhead_;            // (M, C) loss gradient wrt head_
  Activation dhead_in_;         // (M, C)
  Activation dresid_;           // (N, C) backward residual stream
  DeviceBatch db_;              // the batch's arrays where the ops read them
  std::vector<int64_t> all_rows_;  // (N) 0..N−1: encode_hidden's rows
  const int64_t* gathered_rows_ = nullptr;  // the last gather's rows where the ops read them (db_)
  int64_t gathered_count_ = 0;
  // what forward saw, for backward
  bool train_ = false;
  bool have_grads_ = false;
  uint64_t dropout_seed_ = 0;
  int64_t M_ = 0;
  GradReadyHook grad_ready_;
  std::vector<size_t> block_first_entry_;  // (L) registration index of block l's first parameter
  size_t final_first_entry_ = 0;           // of final.ln.w (then final.ln.b, out.bias)
};

}  // namespace seqmend
