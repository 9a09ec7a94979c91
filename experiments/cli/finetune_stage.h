// `seqmend finetune`: trains the anomaly detector (core/detector.h) on top of a pretrained encoder,
// data-parallel like pretraining and in the same loop (experiments/train/trainer.h with the
// detector's objective, experiments/detect/detector_objective.h), then calibrates one threshold per
// head on the valid split and writes the detector checkpoint.
//
// Data: one global batch per step from DataParallelLoader (same order on any rank count); every
// rank builds the whole global batch and — unless stored labels are used — corrupts it with the
// injectors under seed hash_combine(seed, epoch, batch index): a fresh corruption every epoch, the
// same one for a user on a rerun, and the same anomalies (bots included) on any rank count. Each
// rank trains on the sequences dealt to it by tokens. Loss per head = focal-loss sum / the head's
// labelled count over the global batch (all-reduced first), so rank gradients add up to the
// global mean.
//
// From the loop: checkpoints every checkpoint.every steps, on a stop signal and after the last step
// (`ckpt-<step>.h5`: encoder and heads with their AdamW moments), `--resume` bit for bit,
// SIGUSR1/SIGTERM → checkpoint and exit 75 before calibration, NaN agreement across ranks,
// progress lines and metrics.jsonl.
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

// The whole stage; rank 0 writes. Returns results.json's object, or {"steps", "stopped": true} when
// a stop signal ended training (a checkpoint is written; nothing is calibrated).
nlohmann::json run_finetune(FinetuneConfig& cfg, DataParallelGroup& group, RunDir* run);

}  // namespace seqmend
