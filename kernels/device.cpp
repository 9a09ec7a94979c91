#include "kernels/device.h"

namespace seqmend {

#ifdef SEQMEND_WITH_CUDA
int cuda_device_count_impl();  // device.cu
bool cuda_compiled() { return true; }
int cuda_device_count() { return cuda_device_count_impl(); }
#else
bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
#endif

}  // namespace seqmend
