#include "experiments/run/device_choice.h"

#include "core/base/error.h"

namespace seqmend {

Device require_device(const std::string& name, const std::string& stage) {
  SEQ_CHECK(name == "cpu" || name == "cuda", stage, ": device `", name, "` is not cpu or cuda");
  if (name == "cpu") return Device::CPU;
  SEQ_CHECK(cuda_compiled(), stage, ": device cuda, but this build has no CUDA backend (nvcc was not found at "
            "configure time); use device=cpu");
  SEQ_CHECK(cuda_device_count() > 0, stage, ": device cuda, but this process sees no usable GPU (no driver or "
            "no device); use device=cpu");
  return Device::CUDA;
}

}  // namespace seqmend
