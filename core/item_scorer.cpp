#include "core/item_scorer.h"

#include "core/model.h"
#include "kernels/item_scores.h"
#include "kernels/matmul.h"

namespace seqmend {

ItemScorer::ItemScorer(ItemTransformer& model) : C_(model.config().d_model), V_(model.config().num_items) {
  ParamBuffer& pb = model.params();
  const Tensor& params = pb.params();
  if (params.device() != Device::CPU) host_params_ = params.cpu();
  const Tensor& host = host_params_.defined() ? host_params_ : params;
  table_ = pb.view(host, "emb.item").data<float>() + C_;  // row 0 is the padding id
  bias_ = pb.view(host, "out.bias").data<float>() + 1;
}

void ItemScorer::logits(const float* H, int64_t R, float* out) const {
  matmul_forward(Device::CPU, out, H, table_, bias_, R, C_, int(V_));
}

void ItemScorer::scores(const float* H, int64_t R, float* out) const {
  item_scores(Device::CPU, out, H, table_, bias_, R, C_, V_);
}

void ItemScorer::scores_at(const float* h, const int32_t* items, int64_t n, float* out) const {
  // Through the whole table (row 0 the padding id), so that table row = item id.
  item_scores_at(Device::CPU, out, h, table_ - C_, bias_ - 1, items, n, C_);
}

}  // namespace seqmend
