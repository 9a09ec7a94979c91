#include <cuda_runtime.h>

namespace seqmend {

int cuda_device_count_impl() {
  // Without a driver cudaGetDeviceCount fails and leaves the count untouched: start at 0.
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return n;
}

}  // namespace seqmend
