// CUDA twin of kernels/softmax_xent.h. Per chunk of R rows:
//   logits (R, V) = hidden_chunk · table[first : first + V]ᵀ       (cuBLAS)
//   one block per row: + bias, max, Σ exp, loss; dlogits = (softmax − onehot) · scale in place
//   dhidden_chunk (R, C) += dlogits · table_slice                  (cuBLAS)
//   dtable_slice (V, C)  += dlogitsᵀ · hidden_chunk                (cuBLAS)
//   dbias_slice (V)      += column sums of dlogits                 (fixed order)
// R is chosen so a chunk of logits stays under 512 MiB: a 1,000,000-item vocabulary runs 134 rows
// at a time. Row losses stay on the device in double and are summed on the host in row order
// after the last chunk (one copy back per call). MatmulPrecision::bf16: hidden and the table are
// rounded into bf16 copies once per call, each chunk's dlogits once after the softmax, and the
// products are cublasGemmEx (bf16 in, f32 sums); dbias sums the unrounded dlogits.
#include <cmath>
#include <vector>

#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr int kThreads = 512;
constexpr long long kLogitBudget = (512LL << 20) / 4;  // floats per chunk of logits

__device__ float block_reduce(float v, float* sh, bool is_max) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, w) : v + w;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // sh may still be read from the previous reduction
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < int(blockDim.x / 32) ? sh[lane] : (is_max ? -INFINITY : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
      const float w = __shfl_xor_sync(0xffffffffu, v, o);
      v = is_max ? fmaxf(v, w) : v + w;
    }
    if (lane == 0) sh[0] = v;
  }
  __syncthreads();
  return sh[0];
}

// One block per row of the chunk. A target outside [first, first + V) makes the row's loss NaN
// and records the row (the host reports it).
__global__ void row_softmax_kernel(double* losses, unsigned long long* bad_row, float* logits,
                                   const float* bias, const int32_t* targets, long long row0,
                                   long long V, long long first, float scale, bool want_grad) {
  __shared__ float sh[32];
  const long long i = blockIdx.x;
  float* row = logits + i * V;
  const long long target = (long long)targets[row0 + i] - first;
  const bool target_ok = target >= 0 && target < V;
  float mx = -INFINITY;
  for (long long v = threadIdx.x; v < V; v += blockDim.x) {
    const float x = row[v] + bias[v];
    row[v] = x;
    mx = fmaxf(mx, x);
  }
  mx = block_reduce(mx, sh, true);
  // The target's logit is read by every thread before any thread overwrites the row.
  const float xt = target_ok ? row[target] : 0.0f;
  __syncthreads();
  float sum = 0.0f;
  for (long long v = threadIdx.x; v < V; v += blockDim.x) {
    const float e = expf(row[v] - mx);
    if (want_grad) row[v] = e;
    sum += e;
  }
  sum = block_reduce(sum, sh, false);
  if (threadIdx.x == 0) {
    if (target_ok) {
      losses[row0 + i] = double(mx) + log(double(sum)) - double(xt);
    } else {
      atomicMin(bad_row, (unsigned long long)(row0 + i));
      losses[row0 + i] = NAN;
    }
  }
  if (!target_ok) {
    // No gradient from a bad row (the call fails once the chunk loop is done).
    if (want_grad)
      for (long long v = threadIdx.x; v < V; v += blockDim.x) row[v] = 0.0f;
    return;
  }
  if (!want_grad) return;
  __syncthreads();
  const float k = scale / sum;
  for (long long v = threadIdx.x; v < V; v += blockDim.x) row[v] *= k;
  __syncthreads();
  if (threadIdx.x == 0) row[target] -= scale;
}

// C (m, n, column-major, f32) = op(A) · op(B) + beta · C with bf16 A and B.
void gemm_bf16(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const void* A,
               int lda, const void* B, int ldb, float beta, float* Cm, int ldc) {
  const float one = 1.0f;
  CUBLAS_CHECK(cublasGemmEx(h, ta, tb, m, n, k, &one, A, CUDA_R_16BF, lda, B, CUDA_R_16BF, ldb, &beta, Cm,
                            CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

double softmax_xent_cuda(const XentArgs& a, const XentGrads& g) {
  cuda_require("softmax_xent");
  if (a.M == 0) return 0.0;
  const int C = a.C;
  const int V = int(a.V);
  long long R = kLogitBudget / a.V;
  R = R < 1 ? 1 : (R > a.M ? a.M : R);
  const float* table = a.table + a.first * C;
  const float* bias = a.bias + a.first;
  const bool want_grad = g.dhidden != nullptr;
  float* dtable = want_grad ? g.dtable + a.first * C : nullptr;
  float* dbias = want_grad ? g.dbias + a.first : nullptr;

  CudaBuffer logits_buf(size_t(R) * size_t(V) * sizeof(float));  // (R, V)
  CudaBuffer losses_buf(size_t(a.M) * sizeof(double));
  CudaBuffer flag(sizeof(unsigned long long));
  CUDA_CHECK(cudaMemsetAsync(flag.as<void>(), 0xff, sizeof(unsigned long long), cuda_stream()));
  float* logits = logits_buf.as<float>();
  const float one = 1.0f, zero = 0.0f;
  cublasHandle_t h = cublas_handle();
  const bool bf = a.prec == MatmulPrecision::bf16;
  CudaBuffer hid16, table16, dl16;  // precision bf16: (M, C), (V, C), (R, V)
  if (bf) {
    hid16 = CudaBuffer(size_t(a.M) * C * sizeof(bf16));
    table16 = CudaBuffer(size_t(V) * C * sizeof(bf16));
    cast_to_bf16_cuda(hid16.as<bf16>(), a.hidden, a.M * C);
    cast_to_bf16_cuda(table16.as<bf16>(), table, int64_t(V) * C);
    if (want_grad) dl16 = CudaBuffer(size_t(R) * size_t(V) * sizeof(bf16));
  }
  for (long long r0 = 0; r0 < a.M; r0 += R) {
    const int rows = int(R < a.M - r0 ? R : a.M - r0);
    const float* hid = a.hidden + r0 * C;
    const bf16* hid_b = bf ? hid16.as<bf16>() + r0 * C : nullptr;
    // logitsᵀ (V, rows) = table_cm (C, V)ᵀ · hid_cm (C, rows)
    if (bf)
      gemm_bf16(h, CUBLAS_OP_T, CUBLAS_OP_N, V, rows, C, table16.as<void>(), C, hid_b, C, 0.0f, logits, V);
    else
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, V, rows, C, &one, table, C, hid, C, &zero,
                               logits, V));
    row_softmax_kernel<<<unsigned(rows), kThreads, 0, cuda_stream()>>>(
        losses_buf.as<double>(), flag.as<unsigned long long>(), logits, bias, a.targets, r0, a.V,
        a.first, g.scale, want_grad);
    CUDA_CHECK_LAUNCH(row_softmax_kernel);
    if (!want_grad) continue;
    if (bf) {
      cast_to_bf16_cuda(dl16.as<bf16>(), logits, int64_t(rows) * V);
      gemm_bf16(h, CUBLAS_OP_N, CUBLAS_OP_N, C, rows, V, table16.as<void>(), C, dl16.as<void>(), V, 1.0f,
                g.dhidden + r0 * C, C);
      gemm_bf16(h, CUBLAS_OP_N, CUBLAS_OP_T, C, V, rows, hid_b, C, dl16.as<void>(), V, 1.0f, dtable, C);
      cuda_column_sums_add(dbias, logits, rows, V, V);
      continue;
    }
    // dhidᵀ (C, rows) += table_cm (C, V) · dlogits_cm (V, rows)
    CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, C, rows, V, &one, table, C, logits, V, &one,
                             g.dhidden + r0 * C, C));
    // dtableᵀ (C, V) += hid_cm (C, rows) · dlogits_cm (V, rows)ᵀ
    CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, C, V, rows, &one, hid, C, logits, V, &one,
                             dtable, C));
    cuda_column_sums_add(dbias, logits, rows, V, V);
  }
  std::vector<double> losses(static_cast<size_t>(a.M));
  unsigned long long bad = 0;
  CUDA_CHECK(cudaMemcpy(losses.data(), losses_buf.as<void>(), losses.size() * sizeof(double),
                        cudaMemcpyDeviceToHost));
  CUDA_CHECK(cudaMemcpy(&bad, flag.as<void>(), sizeof(bad), cudaMemcpyDeviceToHost));
  if (bad != ~0ULL) {
    int32_t t = 0;
    CUDA_CHECK(cudaMemcpy(&t, a.targets + bad, sizeof(t), cudaMemcpyDeviceToHost));
    SEQ_FAIL("softmax_xent: row ", bad, " has target id ", t, " outside the scoreable items [",
             a.first, ", ", a.first + a.V, ")");
  }
  double total = 0.0;
  for (int64_t m = 0; m < a.M; ++m) {
    SEQ_CHECK(std::isfinite(losses[size_t(m)]), "softmax_xent: row ", m,
              " has a non-finite loss ", losses[size_t(m)]);
    total += losses[size_t(m)];
  }
  return total;
}

}  // namespace seqmend
