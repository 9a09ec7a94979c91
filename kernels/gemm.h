// The CPU's single-threaded GEMM, behind one call: oneDNN (it dispatches on the CPU's features, so
// a new CPU gets AVX-512 or AMX code) where it was built in, OpenBLAS otherwise or when asked.
// Our kernels split their products into fixed blocks over their own OpenMP team and call gemm() on
// each block from one thread (kernels/matmul.cpp explains why), so gemm() itself never starts
// threads: its bits depend on the block's shape and the path alone, never on the team size.
//
// The path is chosen once, at the first call, from SEQMEND_GEMM (auto | onednn | openblas; auto =
// oneDNN when built in), and can be set for tests. `seqmend info` and run.json name it with the
// CPU's ISA and OpenBLAS's core.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/bf16.h"

namespace seqmend {

enum class GemmPath { openblas, onednn };

// Row-major C (M, N) = alpha · op(A) · op(B) + beta · C, op = transpose when ta / tb.
void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc);

// The same with bf16 inputs and f32 accumulation and output, in the CPU's native bf16 dot products
// (oneDNN on AVX512-BF16 or AMX); only where gemm_bf16_native() says so.
void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
          float beta, float* C, int ldc);
// oneDNN is the path in use and the CPU multiplies bf16 natively (elsewhere bf16 products are
// emulated: sgemm on inputs rounded to bf16, kernels/matmul.h).
bool gemm_bf16_native();

// Opt-in accounting of the work done inside gemm(), for benchmarks that report which share of a
// step the GEMMs take and at what rate. Off by default: a call then pays one relaxed load.
// Seconds are summed over the threads that made the calls (thread-seconds).
struct GemmCount {
  int64_t calls = 0;
  double flops = 0;    // 2·M·N·K per call
  double seconds = 0;  // thread-seconds inside the calls
};
struct GemmCounters {
  GemmCount f32, bf16;  // the float and the native bf16 overloads
};
void gemm_count(bool on);  // starts (from zero) or stops the accounting
GemmCounters gemm_counters();

GemmPath gemm_path();
// Throws when the path is not built in. Not while kernels run (set it between steps or in tests).
void set_gemm_path(GemmPath path);
bool gemm_path_available(GemmPath path);
const char* gemm_path_name(GemmPath path);

// What the path selection saw, for `seqmend info`, run.json and benchmarks.
std::string cpu_model_name();  // /proc/cpuinfo "model name"
std::string cpu_isa();         // the widest of amx / avx512_bf16 / avx512 / avx2 / sse4.2 the CPU has
std::string blas_core();       // openblas_get_corename(), e.g. "Haswell"; "Prescott" = generic kernels
// A one-line warning when OpenBLAS runs generic kernels on a CPU with AVX2 or wider and is the path
// in use ("" otherwise).
std::string gemm_warning();

}  // namespace seqmend
