// Error checks for CUDA runtime and cuBLAS calls, for the .cu twins and the CUDA-only host code.
// A failed call becomes a seqmend::Error naming the call, file:line and the library's own message,
// so a failure on the GPU machine says which launch or copy went wrong.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/base/error.h"

namespace seqmend {

const char* cublas_status_name(cublasStatus_t s);

}  // namespace seqmend

#define CUDA_CHECK(call)                                                                      \
  do {                                                                                        \
    const cudaError_t seq_cuda_err_ = (call);                                                 \
    if (seq_cuda_err_ != cudaSuccess) [[unlikely]]                                            \
      SEQ_FAIL(__FILE__, ":", __LINE__, ": ", #call, " failed: ",                             \
               cudaGetErrorName(seq_cuda_err_), " (", cudaGetErrorString(seq_cuda_err_), ")"); \
  } while (0)

// After a kernel launch: catches bad launch configurations at once (execution errors surface at
// the next synchronising call, which is checked too).
#define CUDA_CHECK_LAUNCH(kernel_name) CUDA_CHECK(cudaGetLastError())

#define CUBLAS_CHECK(call)                                                                   \
  do {                                                                                       \
    const cublasStatus_t seq_cublas_st_ = (call);                                            \
    if (seq_cublas_st_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                \
      SEQ_FAIL(__FILE__, ":", __LINE__, ": ", #call, " failed: ",                            \
               ::seqmend::cublas_status_name(seq_cublas_st_));                               \
  } while (0)
