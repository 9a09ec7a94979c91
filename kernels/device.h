// Where an op runs. Every op in kernels/ takes a Device first; its CPU version sits in <op>.cpp and
// its CUDA twin in <op>.cu beside it, both behind the one declaration in <op>.h.
#pragma once

#include <string_view>

namespace seqmend {

enum class Device { CPU, CUDA };

inline std::string_view device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

// True when this build contains the CUDA backend (nvcc was found at configure time).
bool cuda_compiled();
// Number of usable GPUs: 0 without a driver or device (never throws).
int cuda_device_count();

}  // namespace seqmend
