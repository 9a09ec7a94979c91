// `seqmend finetune`: trains the anomaly detector (core/detector.h) on top of a pretrained encoder,
// data-parallel like pretraining, then calibrates one threshold per head on the valid split and
// writes the detector checkpoint.
//
// Data: one global batch per step from DataParallelLoader (same order on any rank count); each
// rank takes its stored share, and — unless stored labels are used — corrupts it with the injectors
// under seed hash_combine(seed, epoch, batch index): a fresh corruption every epoch, the same one
// for a user on a rerun. Bots are drawn per rank share (their number follows the share's size), so
// the bot sequences of a step depend on the rank count; the event-level corruption does not.
// Loss per head = focal-loss sum / the head's labelled count over the global batch (all-reduced
// first), so rank gradients add up to the global mean.
//
// Writes `<run_dir>/detector.h5` (experiments/detect/detector_checkpoint.h).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "experiments/detect/finetune_config.h"

namespace seqmend {

class DataParallelGroup;
class RunDir;

// The whole stage; rank 0 writes. Returns results.json's object.
nlohmann::json run_finetune(FinetuneConfig& cfg, DataParallelGroup& group, RunDir* run);

}  // namespace seqmend
