// Fused softmax cross-entropy with all gradients at the two model shapes: ML-1M-like
// (M = 5120 target rows, V = 3706, C = 64) and a 100k-item catalogue (M = 1280, V = 100,000,
// C = 128), at a few chunk sizes. The GFLOP counter (shown per second) counts the three GEMMs,
// 6·M·V·C (2·M·V·C without gradients).
// Threads: SEQMEND_THREADS (default 2) for OpenMP and OpenBLAS alike. The CPU column is the whole
// process's CPU time: on a shared machine, CPU / threads estimates the unloaded wall time, and
// with --benchmark_repetitions=N the "min" row is the least disturbed run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "core/base/rng.h"
#include "kernels/softmax_xent.h"
#include "kernels/threads.h"

namespace seqmend {
namespace {

double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// Args: M, V, C, chunk_rows, with gradients (0/1)
void BM_SoftmaxXent(benchmark::State& state) {
  const char* env = std::getenv("SEQMEND_THREADS");
  set_num_threads(env ? std::atoi(env) : 2);
  const int64_t M = state.range(0), V = state.range(1), chunk = state.range(3);
  const int C = int(state.range(2));
  const bool grads = state.range(4) != 0;
  Rng r(99);
  std::vector<float> hidden(size_t(M * C)), table(size_t((V + 2) * C)), bias(size_t(V + 2));
  for (auto& x : hidden) x = r.uniform() - 0.5f;
  for (auto& x : table) x = 0.2f * (r.uniform() - 0.5f);
  for (auto& x : bias) x = 0.1f * (r.uniform() - 0.5f);
  std::vector<int32_t> targets(static_cast<size_t>(M));
  for (auto& t : targets) t = int32_t(1 + r.below(uint64_t(V)));
  std::vector<float> dhidden(hidden.size()), dtable(table.size()), dbias(bias.size());
  XentArgs a{hidden.data(), table.data(), bias.data(), targets.data(), M, C, V, 1, chunk};
  XentGrads g{grads ? dhidden.data() : nullptr, dtable.data(), dbias.data(), 1.0f / float(M)};
  double loss = 0;
  for (auto _ : state) {
    loss = softmax_xent(Device::CPU, a, g);
    benchmark::DoNotOptimize(loss);
  }
  const double flops = (grads ? 6.0 : 2.0) * double(M) * double(V) * C;
  state.counters["GFLOP"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["mean_loss"] = loss / double(M);
}

BENCHMARK(BM_SoftmaxXent)
    ->ArgNames({"M", "V", "C", "chunk", "grad"})
    ->Args({5120, 3706, 64, 256, 1})
    ->Args({5120, 3706, 64, 1024, 1})
    ->Args({5120, 3706, 64, 256, 0})
    ->Args({1280, 100000, 128, 64, 1})
    ->Args({1280, 100000, 128, 256, 1})
    ->Args({1280, 100000, 128, 256, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->ComputeStatistics("min", min_of)
    ->MinTime(1.0);

}  // namespace
}  // namespace seqmend

BENCHMARK_MAIN();
