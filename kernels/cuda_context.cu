#include "kernels/cuda_context.h"

#include <mutex>

#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/device.h"

namespace seqmend {

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_(unknown)";
  }
}

void cuda_require(const char* op) {
  // Counted once: cudaGetDeviceCount is cheap but not free, and every op calls this.
  static const int count = cuda_device_count();
  SEQ_CHECK(count > 0, op, ": Device::CUDA was asked for, but this process has no usable GPU "
            "(CUDA driver or device missing); run it with Device::CPU");
}

cublasHandle_t cublas_handle() {
  static std::once_flag once;
  static cublasHandle_t handle = nullptr;
  std::call_once(once, [] {
    CUBLAS_CHECK(cublasCreate(&handle));
    CUBLAS_CHECK(cublasSetStream(handle, cuda_stream()));
    // Default math keeps FP32 GEMMs in FP32 (TF32 only if NVIDIA_TF32_OVERRIDE=1 is set).
    CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
  });
  return handle;
}

namespace {

constexpr int kColThreads = 256;
constexpr long long kColChunkRows = 256;  // rows per partial sum (more when rows > 16M)

// partial (nchunks, cols): each chunk of rows summed in row order, one thread per column.
__global__ void column_partials(float* partial, const float* in, long long rows, long long cols,
                                long long ld, long long chunk_rows) {
  const long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  const long long chunk = blockIdx.y;
  if (c >= cols) return;
  const long long r0 = chunk * chunk_rows;
  const long long r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  float acc = 0.0f;
  for (long long r = r0; r < r1; ++r) acc += in[r * ld + c];
  partial[chunk * cols + c] = acc;
}

__global__ void column_fold(float* out, const float* partial, long long nchunks, long long cols) {
  const long long c = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  float acc = 0.0f;
  for (long long k = 0; k < nchunks; ++k) acc += partial[k * cols + c];
  out[c] += acc;
}

}  // namespace

void cuda_column_sums_add(float* out, const float* in, long long rows, long long cols, long long ld) {
  if (rows <= 0 || cols <= 0) return;
  long long chunk_rows = kColChunkRows;
  if ((rows + chunk_rows - 1) / chunk_rows > 65535) chunk_rows = (rows + 65534) / 65535;
  const long long nchunks = (rows + chunk_rows - 1) / chunk_rows;
  CudaBuffer scratch(size_t(nchunks * cols) * sizeof(float));
  float* partial = scratch.as<float>();
  const dim3 grid(unsigned((cols + kColThreads - 1) / kColThreads), unsigned(nchunks));
  column_partials<<<grid, kColThreads, 0, cuda_stream()>>>(partial, in, rows, cols, ld, chunk_rows);
  CUDA_CHECK_LAUNCH(column_partials);
  column_fold<<<unsigned((cols + kColThreads - 1) / kColThreads), kColThreads, 0, cuda_stream()>>>(
      out, partial, nchunks, cols);
  CUDA_CHECK_LAUNCH(column_fold);
}

}  // namespace seqmend
