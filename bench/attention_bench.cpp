// Packed attention, forward and backward, at the model's shapes: B = 128 sequences with lengths
// uniform in [100, 200], NH × HS = 2 × 32 and 4 × 64, attention dropout off and at 0.2.
// The GFLOP counter (shown per second) counts the useful products only: 4·L²·HS forward and
// 10·L²·HS backward per sequence and head, as tools/bench_attention_torch.py counts them for the
// padded PyTorch version.
// Threads: SEQMEND_THREADS (default 2) for OpenMP and OpenBLAS alike. The CPU column is the whole
// process's CPU time: on a shared machine, CPU / threads estimates the unloaded wall time, and
// with --benchmark_repetitions=N the "min" row is the least disturbed run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "core/base/rng.h"
#include "kernels/attention.h"
#include "kernels/threads.h"

namespace seqmend {
namespace {

double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

struct AttentionProblem {
  std::vector<int64_t> cu;
  std::vector<float> qkv, out, lse, dout, dqkv;
  std::vector<uint64_t> keys;
  AttentionShape s;
  double fwd_flops = 0, bwd_flops = 0;

  AttentionProblem(int B, int NH, int HS, int Tmin, int Tmax) {
    Rng r(2024);
    cu.assign(size_t(B) + 1, 0);
    for (int b = 0; b < B; ++b) {
      const int64_t L = Tmin + int64_t(r.below(uint64_t(Tmax - Tmin + 1)));
      cu[b + 1] = cu[b] + L;
      fwd_flops += 4.0 * double(L * L) * HS * NH;
      bwd_flops += 10.0 * double(L * L) * HS * NH;
    }
    const int64_t N = cu.back();
    const int C = NH * HS;
    qkv.resize(size_t(N * 3 * C));
    for (auto& x : qkv) x = r.uniform() * 2.0f - 1.0f;
    dout.resize(size_t(N * C));
    for (auto& x : dout) x = r.uniform() * 2.0f - 1.0f;
    out.resize(size_t(N * C));
    lse.resize(size_t(N * NH));
    dqkv.resize(qkv.size());
    keys.resize(size_t(N));
    for (auto& k : keys) k = r.next_u64();
    s.B = B;
    s.NH = NH;
    s.HS = HS;
    s.cu_seqlens = cu.data();
  }
};

int bench_threads() {
  const char* env = std::getenv("SEQMEND_THREADS");
  return env ? std::atoi(env) : 2;
}

// Args: NH, HS, dropout p in percent, phase (0 forward, 1 backward, 2 both)
void BM_Attention(benchmark::State& state) {
  set_num_threads(bench_threads());
  const int NH = int(state.range(0)), HS = int(state.range(1)), phase = int(state.range(3));
  AttentionProblem p(128, NH, HS, 100, 200);
  const DropoutSpec drop{float(state.range(2)) / 100.0f, 7};
  attention_forward(Device::CPU, p.out.data(), p.lse.data(), p.qkv.data(), p.s, drop, p.keys.data());
  for (auto _ : state) {
    if (phase != 1)
      attention_forward(Device::CPU, p.out.data(), p.lse.data(), p.qkv.data(), p.s, drop, p.keys.data());
    if (phase != 0)
      attention_backward(Device::CPU, p.dqkv.data(), p.dout.data(), p.qkv.data(), p.out.data(),
                         p.lse.data(), p.s, drop, p.keys.data());
    benchmark::ClobberMemory();
  }
  const double flops = (phase != 1 ? p.fwd_flops : 0.0) + (phase != 0 ? p.bwd_flops : 0.0);
  state.counters["GFLOP"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens"] = double(p.cu.back());
  state.SetLabel(phase == 0 ? "forward" : phase == 1 ? "backward" : "forward+backward");
}

BENCHMARK(BM_Attention)
    ->ArgNames({"NH", "HS", "p%", "phase"})
    ->ArgsProduct({{2}, {32}, {0, 20}, {0, 1, 2}})
    ->ArgsProduct({{4}, {64}, {0, 20}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->ComputeStatistics("min", min_of)
    ->MinTime(1.0);

}  // namespace
}  // namespace seqmend

BENCHMARK_MAIN();
