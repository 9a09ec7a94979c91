// The `device:` key of the training and scoring stages (pretrain, finetune, detect): "cpu" or "cuda",
// checked once here so that every stage refuses a missing GPU with the same message.
#pragma once

#include <string>

#include "kernels/device.h"

namespace seqmend {

// Device::CPU for "cpu"; Device::CUDA for "cuda" when this build has the CUDA backend and the
// process sees a GPU; otherwise an error that names the stage and says what to do.
Device require_device(const std::string& name, const std::string& stage);

}  // namespace seqmend
