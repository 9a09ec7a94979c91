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
      if (err != cudaErrorNoDevice)
        std::fprintf(stderr, "seqmend: CUDA reports no usable GPU: %s (%s)%s\n", cudaGetErrorString(err),
                     cudaGetErrorName(err),
                     err == cudaErrorInsufficientDriver ? "; the driver is older than this CUDA runtime" : "");
      return true;
    }();
    (void)said;
    return 0;
  }
  return n;
}

}  // namespace seqmend
