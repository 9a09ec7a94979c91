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

// `if (dev == Device::CUDA) SEQ_CUDA_TWIN(op, args...);` at the top of a CPU op: returns
// op_cuda(args...) (kernels/cuda_twins.h, defined in kernels/<op>.cu) in a CUDA build, and is the
// cuda_twin_missing error in a CPU-only build.
#ifdef SEQMEND_WITH_CUDA
#include "kernels/cuda_twins.h"
#define SEQ_CUDA_TWIN(op, ...) return op##_cuda(__VA_ARGS__)
#else
#define SEQ_CUDA_TWIN(op, ...) ::seqmend::cuda_twin_missing(#op)
#endif
