// The masked-item predictor repair uses for replace and backfill (experiments/repair/repair.h, Predictor):
// the pretrained encoder's top item and its softmax probability at a masked event, or at a mask
// token inserted into a gap. Each query sees a window of up to max_len events around its position
// (before and after: the encoder is bidirectional), with only that one position masked.
#pragma once

#include <string>

#include "experiments/repair/repair.h"

namespace seqmend {

class ItemTransformer;

// Answers queries with `model` (borrowed; must outlive the predictor). `batch_size`: queries per
// forward pass.
Predictor make_model_predictor(ItemTransformer& model, int64_t batch_size = kPredictorBatch);

// Loads the encoder (a checkpoint file or a pretrain run directory; the model shape from the
// config.yaml beside it, the best-validation parameters when stored) into a predictor that owns it.
Predictor load_model_predictor(const std::string& encoder_checkpoint);

}  // namespace seqmend
