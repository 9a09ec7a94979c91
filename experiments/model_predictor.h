// The masked-item predictor repair uses for replace and backfill (experiments/repair.h, Predictor):
// the pretrained encoder's top item and its softmax probability at a masked event, or at a mask
// token inserted into a gap. Each query sees a window of up to max_len events around its position
// (before and after: the encoder is bidirectional), with only that one position masked.
#pragma once

#include <string>

#include "experiments/repair.h"
#include "experiments/repair_stage.h"

namespace seqmend {

class Bert4Rec;

// Answers queries with `model` (borrowed; must outlive the predictor). `batch_size`: queries per
// forward pass.
Predictor make_model_predictor(Bert4Rec& model, int64_t batch_size = kPredictorBatch);

// For set_repair_predictor_factory: loads cfg.encoder_checkpoint (a checkpoint file or a pretrain
// run directory; the model shape from the config.yaml beside it).
PredictorFactory model_predictor_factory();

}  // namespace seqmend
