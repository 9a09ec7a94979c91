// The element-wise, normalisation, embedding, optimizer and dense ops at the BERT4Rec sizes:
// N = 19200 packed tokens (batch 128 × length ~150), C = 64 and C = 256, FFN width 4C.
// Counters are rates (printed GFLOP=x/s, GB=x/s): GFLOP for the GEMMs (2·N·C·OC forward,
// 4·N·C·OC backward), GB elsewhere (the bytes each op must move at minimum: every input read
// once, every output written once, and read too when it is accumulated into).
// Threads: SEQMEND_THREADS (default 2) for OpenMP and OpenBLAS alike. Benchmark on a quiet
// machine: with other jobs on the cores, waking the second thread for each op costs more than the
// op (1 thread then beats 2).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdlib>
#include <vector>

#include "core/base/rng.h"
#include "kernels/adamw.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/focal_loss.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/threads.h"

namespace seqmend {
namespace {

constexpr int64_t kN = 19200;

constexpr size_t sz(int64_t n) { return static_cast<size_t>(n); }

// Wall-clock time: the work runs on OpenMP/OpenBLAS threads, which CPU time of the main thread
// would not count. Each case runs for about 0.2 s.
void settings(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(0.2);
}

void use_threads() {
  const char* env = std::getenv("SEQMEND_THREADS");
  set_num_threads(env ? std::atoi(env) : 2);
}

std::vector<float> randoms(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * r.uniform();
  return v;
}

void set_bytes(benchmark::State& state, double bytes) {
  state.counters["GB"] =
      benchmark::Counter(bytes * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOP"] =
      benchmark::Counter(flops * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

// Args: C, OC
void BM_MatmulForward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0)), OC = int(state.range(1));
  auto inp = randoms(sz(kN * C), 1), w = randoms(sz(OC) * C, 2), b = randoms(sz(OC), 3);
  std::vector<float> out(sz(kN * OC));
  for (auto _ : state)
    matmul_forward(Device::CPU, out.data(), inp.data(), w.data(), b.data(), kN, C, OC);
  set_flops(state, 2.0 * kN * C * OC);
}

void BM_MatmulBackward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0)), OC = int(state.range(1));
  auto inp = randoms(sz(kN * C), 1), w = randoms(sz(OC) * C, 2), dout = randoms(sz(kN * OC), 3);
  std::vector<float> dinp(inp.size()), dw(w.size()), db(sz(OC));
  for (auto _ : state)
    matmul_backward(Device::CPU, dinp.data(), dw.data(), db.data(), dout.data(), inp.data(),
                    w.data(), kN, C, OC);
  set_flops(state, 4.0 * kN * C * OC);
}

// The C = 64 and C = 256 models' projections: qkv (C → 3C), FFN up (C → 4C), FFN down (4C → C).
void gemm_shapes(benchmark::internal::Benchmark* b) {
  for (auto [c, oc] :
       {std::pair{64, 192}, {64, 256}, {256, 64}, {256, 768}, {256, 1024}, {1024, 256}})
    b->Args({c, oc});
}
// Baseline: the same GEMMs as single cblas_sgemm calls threaded by OpenBLAS's own pool, to check
// that splitting them over our OpenMP team (matmul.cpp) loses nothing. No bias, no dbias.
void BM_SgemmOpenblasThreadsForward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0)), OC = int(state.range(1));
  auto inp = randoms(sz(kN * C), 1), w = randoms(sz(OC) * C, 2);
  std::vector<float> out(sz(kN * OC));
  for (auto _ : state)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(kN), OC, C, 1.0f, inp.data(), C,
                w.data(), C, 0.0f, out.data(), OC);
  set_flops(state, 2.0 * kN * C * OC);
}

void BM_SgemmOpenblasThreadsBackward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0)), OC = int(state.range(1));
  auto inp = randoms(sz(kN * C), 1), w = randoms(sz(OC) * C, 2), dout = randoms(sz(kN * OC), 3);
  std::vector<float> dinp(inp.size()), dw(w.size());
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(kN), C, OC, 1.0f, dout.data(), OC,
                w.data(), C, 1.0f, dinp.data(), C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, int(kN), 1.0f, dout.data(), OC,
                inp.data(), C, 1.0f, dw.data(), C);
  }
  set_flops(state, 4.0 * kN * C * OC);
}
BENCHMARK(BM_MatmulForward)->Apply(gemm_shapes)->Apply(settings);
BENCHMARK(BM_MatmulBackward)->Apply(gemm_shapes)->Apply(settings);
BENCHMARK(BM_SgemmOpenblasThreadsForward)->Apply(gemm_shapes)->Apply(settings);
BENCHMARK(BM_SgemmOpenblasThreadsBackward)->Apply(gemm_shapes)->Apply(settings);

// Args: C
void BM_LayernormForward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0));
  auto x = randoms(sz(kN * C), 1), w = randoms(sz(C), 2), b = randoms(sz(C), 3);
  std::vector<float> out(x.size()), mean(kN), rstd(kN);
  for (auto _ : state)
    layernorm_forward(Device::CPU, out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                      b.data(), kN, C, 1e-5f);
  set_bytes(state, 2.0 * 4 * kN * C);
}

void BM_LayernormBackward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0));
  auto x = randoms(sz(kN * C), 1), w = randoms(sz(C), 2), b = randoms(sz(C), 3);
  auto dout = randoms(x.size(), 4);
  std::vector<float> out(x.size()), mean(kN), rstd(kN), dx(x.size()), dw(sz(C)), db(sz(C));
  layernorm_forward(Device::CPU, out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(),
                    kN, C, 1e-5f);
  for (auto _ : state)
    layernorm_backward(Device::CPU, dx.data(), dw.data(), db.data(), dout.data(), x.data(),
                       w.data(), mean.data(), rstd.data(), kN, C);
  set_bytes(state, 4.0 * 4 * kN * C);  // x, dout, dinp read and written
}
BENCHMARK(BM_LayernormForward)->Arg(64)->Arg(256)->Apply(settings);
BENCHMARK(BM_LayernormBackward)->Arg(64)->Arg(256)->Apply(settings);

// Args: width (4C)
void BM_GeluForward(benchmark::State& state) {
  use_threads();
  const int64_t n = kN * state.range(0);
  auto x = randoms(sz(n), 1, -4.0f, 4.0f);
  std::vector<float> out(sz(n));
  for (auto _ : state) gelu_forward(Device::CPU, out.data(), x.data(), n);
  set_bytes(state, 2.0 * 4 * n);
}

void BM_GeluBackward(benchmark::State& state) {
  use_threads();
  const int64_t n = kN * state.range(0);
  auto x = randoms(sz(n), 1, -4.0f, 4.0f), dout = randoms(sz(n), 2);
  std::vector<float> dx(sz(n));
  for (auto _ : state) gelu_backward(Device::CPU, dx.data(), x.data(), dout.data(), n);
  set_bytes(state, 4.0 * 4 * n);
}
BENCHMARK(BM_GeluForward)->Arg(256)->Arg(1024)->Apply(settings);
BENCHMARK(BM_GeluBackward)->Arg(256)->Arg(1024)->Apply(settings);

// Args: C. V = 3708 rows (ML-1M's 3706 items, padding and mask), ids drawn uniformly.
constexpr int64_t kV = 3708;
std::vector<int32_t> bench_ids() {
  Rng r(5);
  std::vector<int32_t> ids(sz(kN));
  for (auto& id : ids) id = int32_t(r.below(uint64_t(kV)));
  return ids;
}

void BM_EmbeddingForward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0));
  auto table = randoms(sz(kV * C), 1);
  auto ids = bench_ids();
  std::vector<float> out(sz(kN * C));
  for (auto _ : state)
    embedding_forward(Device::CPU, out.data(), ids.data(), table.data(), kN, C, kV, true);
  set_bytes(state, 3.0 * 4 * kN * C);  // row read, out read and written
}

void BM_EmbeddingBackward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0));
  auto dout = randoms(sz(kN * C), 1);
  auto ids = bench_ids();
  std::vector<float> dtable(sz(kV * C));
  for (auto _ : state)
    embedding_backward(Device::CPU, dtable.data(), dout.data(), ids.data(), kN, C, kV);
  set_bytes(state, 3.0 * 4 * kN * C);
}
BENCHMARK(BM_EmbeddingForward)->Arg(64)->Arg(256)->Apply(settings);
BENCHMARK(BM_EmbeddingBackward)->Arg(64)->Arg(256)->Apply(settings);

// Args: C. p = 0.1, the mask regenerated from the hash each time.
void BM_DropoutForward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0));
  auto x = randoms(sz(kN * C), 1);
  std::vector<uint64_t> keys(sz(kN));
  for (int64_t n = 0; n < kN; ++n) keys[sz(n)] = uint64_t(n);
  std::vector<float> out(x.size());
  const DropoutSpec d{0.1f, 42};
  for (auto _ : state) dropout_forward(Device::CPU, out.data(), x.data(), keys.data(), kN, C, d);
  set_bytes(state, 2.0 * 4 * kN * C);
}

void BM_DropoutBackward(benchmark::State& state) {
  use_threads();
  const int C = int(state.range(0));
  auto dout = randoms(sz(kN * C), 1);
  std::vector<uint64_t> keys(sz(kN));
  for (int64_t n = 0; n < kN; ++n) keys[sz(n)] = uint64_t(n);
  std::vector<float> dx(dout.size());
  const DropoutSpec d{0.1f, 42};
  for (auto _ : state) dropout_backward(Device::CPU, dx.data(), dout.data(), keys.data(), kN, C, d);
  set_bytes(state, 3.0 * 4 * kN * C);
}
BENCHMARK(BM_DropoutForward)->Arg(64)->Arg(256)->Apply(settings);
BENCHMARK(BM_DropoutBackward)->Arg(64)->Arg(256)->Apply(settings);

// Residual add over (N, C).
void BM_AddInplace(benchmark::State& state) {
  use_threads();
  const int64_t n = kN * state.range(0);
  auto a = randoms(sz(n), 1), b = randoms(sz(n), 2);
  for (auto _ : state) add_inplace(Device::CPU, a.data(), b.data(), n);
  set_bytes(state, 3.0 * 4 * n);
}
BENCHMARK(BM_AddInplace)->Arg(64)->Arg(256)->Apply(settings);

// Args: parameter count (≈ 0.5M for C = 64, ≈ 4M for C = 256 with a 3.7k-item table).
void BM_ClipGlobalNorm(benchmark::State& state) {
  use_threads();
  const int64_t n = state.range(0);
  auto g = randoms(sz(n), 1, -1e-3f, 1e-3f);
  for (auto _ : state) benchmark::DoNotOptimize(clip_global_norm(Device::CPU, g.data(), n, 1e6));
  set_bytes(state, 4.0 * n);
}

void BM_AdamW(benchmark::State& state) {
  use_threads();
  const int64_t n = state.range(0);
  auto p = randoms(sz(n), 1), g = randoms(sz(n), 2);
  std::vector<float> m(sz(n), 0.0f), v(sz(n), 0.0f);
  AdamWArgs a;
  a.weight_decay = 0.01;
  for (auto _ : state) {
    adamw_update(Device::CPU, p.data(), g.data(), m.data(), v.data(), n, a);
    ++a.step;
  }
  set_bytes(state, 7.0 * 4 * n);  // p, m, v read and written; g read
}
BENCHMARK(BM_ClipGlobalNorm)->Arg(1 << 19)->Arg(1 << 22)->Apply(settings);
BENCHMARK(BM_AdamW)->Arg(1 << 19)->Arg(1 << 22)->Apply(settings);

// One logit per token (the anomaly head), gamma 2 and 0.5, with gradients.
void BM_FocalLoss(benchmark::State& state) {
  use_threads();
  const float gamma = float(state.range(0)) / 10.0f;
  auto x = randoms(sz(kN), 1, -6.0f, 6.0f), y = randoms(sz(kN), 2, 0.0f, 1.0f);
  for (auto& t : y) t = t < 0.1f ? 1.0f : 0.0f;
  std::vector<float> g(sz(kN));
  FocalArgs a{x.data(), y.data(), nullptr, kN, 0.25f, gamma};
  for (auto _ : state) benchmark::DoNotOptimize(sigmoid_focal_loss(Device::CPU, a, g.data(), 1.0f));
  set_bytes(state, 4.0 * 4 * kN);
}
BENCHMARK(BM_FocalLoss)->Arg(20)->Arg(5)->Apply(settings);

}  // namespace
}  // namespace seqmend

BENCHMARK_MAIN();
