// Checkpoints the detector stages exchange: the pretrained encoder a fine-tune starts from, and
// `<run_dir>/detector.h5`, the fine-tuned detector that detect and repair load.
//
// detector.h5 (experiments/run/checkpoint.h format, written atomically with its CRC-32): parameters
// `encoder.<name>` and `heads.<name>`; texts `finetune_config` (resolved YAML), `thresholds`,
// `calibration` and `fusion` (JSON), `encoder_checkpoint` (path); counter `encoder_crc32` (zlib
// CRC-32 of the encoder checkpoint file, 0 without one); model_yaml = the encoder's shape.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/detector.h"
#include "experiments/detect/score_fusion.h"
#include "experiments/detect/thresholds.h"

namespace seqmend {

// `model:` section of a run's config.yaml (pretrain or finetune) as a ModelConfig.
ModelConfig model_config_from_run_config(const std::string& config_yaml_path);
// A checkpoint file, or the newest checkpoint of a run directory (throws with a HINT when none).
std::string resolve_encoder_checkpoint(const std::string& path);
// Loads a pretraining checkpoint into `encoder` (parameters; the best-validation ones when `best`
// and stored). Returns the file's CRC-32.
uint32_t load_encoder_checkpoint(ItemTransformer& encoder, const std::string& file, bool best);

// The detector's two buffers as one, with prefixed names (`encoder.<name>`, `heads.<name>`),
// allocated on the host: the layout of detector.h5 and of fine-tuning's checkpoints.
ParamBuffer detector_param_layout(Detector& det);
// The parameters (and with `moments` the AdamW moments) of one part (the encoder's or the heads'
// buffer, on any device) to (`into_part` false) or from their `prefix`ed places in that layout.
void copy_detector_part(ParamBuffer& whole, ParamBuffer& part, const std::string& prefix, bool moments,
                        bool into_part);

struct DetectorCheckpoint {
  std::string finetune_yaml;
  std::string encoder_checkpoint;
  uint32_t encoder_crc32 = 0;
  Thresholds thresholds;
  nlohmann::json calibration = nlohmann::json::object();
  ScoreFusion fusion;  // applied by `seqmend detect` before the thresholds
  int64_t step = 0;
};
void write_detector_checkpoint(const std::string& path, Detector& det, const DetectorCheckpoint& info);
// Fills `det` (its shapes must match the file's) and returns the rest.
DetectorCheckpoint read_detector_checkpoint(const std::string& path, Detector& det);
// Builds the detector a detector.h5 was written for (shape from the finetune config.yaml beside
// it) on `dev` and loads it.
struct LoadedDetector;
LoadedDetector load_detector(const std::string& path, Device dev = Device::CPU);
struct LoadedDetector {
  std::unique_ptr<Detector> detector;
  DetectorCheckpoint info;
};

}  // namespace seqmend
