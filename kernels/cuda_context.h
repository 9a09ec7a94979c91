// Process-wide CUDA state shared by the .cu twins: the stream every op runs on, the cuBLAS handle
// bound to it, and the check that a GPU is there at all. Every op is ordered on this one stream, so
// scratch memory returned to the caching allocator can be reused by the next op without a sync.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace seqmend {

// Throws an Error naming `op` when this process has no usable GPU (no driver, no device).
void cuda_require(const char* op);

// The stream all seqmend ops are enqueued on (the legacy default stream: host copies through
// cudaMemcpy and Tensor::to are ordered with the kernels without extra events).
inline cudaStream_t cuda_stream() { return 0; }

// cuBLAS handle on cuda_stream(), created on first use. FP32 GEMMs stay in full FP32 (no TF32):
// the CUDA twins must match the CPU ops to 1e-5.
cublasHandle_t cublas_handle();

// Launch geometry for a flat loop over n elements with `threads` per block.
inline unsigned grid_for(long long n, int threads, long long max_blocks = 65535LL * 16) {
  long long b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  return unsigned(b < max_blocks ? b : max_blocks);
}

// out[c] += Σ_r in[r · ld + c] for c < cols, rows summed in a fixed order (fixed row chunks, folded
// in chunk order): the same bits on every run. Used for bias and LayerNorm parameter gradients.
void cuda_column_sums_add(float* out, const float* in, long long rows, long long cols, long long ld);

}  // namespace seqmend
