// How a CPU op file hands work to its CUDA twin. Until an op's <op>.cu exists, asking for
// Device::CUDA is an error that names the op, so a half-ported build fails loudly instead of
// silently running on the host.
#pragma once

#include <string_view>

#include "core/base/error.h"
#include "kernels/device.h"

namespace seqmend {

[[noreturn]] inline void cuda_twin_missing(std::string_view op) {
  SEQ_FAIL(op, ": the CUDA version of this op is not built yet (no ", op,
           " in a .cu file); run it with Device::CPU");
}

}  // namespace seqmend
