#include <cstdio>
#include <cuda_runtime.h>

namespace seqmend {

int cuda_device_count_impl() {
  // Without a driver cudaGetDeviceCount fails and leaves the count untouched: start at 0.
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    // Say why once: "no GPU" and "a driver too old for this runtime" look the same otherwise, and
    // every CUDA test would skip in silence on a machine that has a GPU.
    static const bool said = [&] {
      std::FILE* f = std::fopen("/proc/driver/nvidia/version", "r");
      const bool has_driver = f != nullptr;
      if (f) std::fclose(f);
      // Without an NVIDIA driver the error is the same "insufficient driver": a CPU machine gets no
      // word; a machine with a driver (a GPU the runtime cannot use) or any other error does.
      if (err != cudaErrorNoDevice && (has_driver || err != cudaErrorInsufficientDriver))
        std::fprintf(stderr, "seqmend: CUDA reports no usable GPU: %s (%s)%s\n", cudaGetErrorString(err),
                     cudaGetErrorName(err),
                     err == cudaErrorInsufficientDriver ? "; the NVIDIA driver is older than this CUDA runtime" : "");
      return true;
    }();
    (void)said;
    return 0;
  }
  return n;
}

}  // namespace seqmend
