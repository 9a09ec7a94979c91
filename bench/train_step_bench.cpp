// One whole cloze training step (zero grads, forward, backward, clip, AdamW) at the three reference
// configs, on the synthetic batches of bench/synthetic_batches.h (which tools/bench_vs_torch.py
// regenerates bit for bit for the PyTorch peer). train_step/<config> runs at the model's default
// dropout (0.1 at every site), train_step/<config>/p0 without dropout: dropout's masks are a visible
// share of a small model's step, so the comparison reports both. train_step/<config>/bf16[/p0]: the
// same with model.precision bf16 (native bf16 products where the CPU has them,
// kernels/gemm.h).
//
//   SEQMEND_THREADS=1 bench_train_step --benchmark_filter='^train_step/a/'
//
// Counters: tokens/s (valid tokens), GFLOP/s (ItemTransformer::train_flops: matmuls + attention on valid
// tokens only), batch_sum (a checksum the comparison script checks against its own batches).
// gemm_ceiling/<n>: one n × n × n product through matmul_forward, i.e. our GEMM library split over
// our thread team as the model's layers call it — the rate the step's GFLOP/s is measured against
// (gemm_ceiling/bf16/<n>: the same in MatmulPrecision::bf16, native where the CPU has it).
// The GEMM share (kernels/gemm.h, gemm_count): gemm_share = thread-seconds inside gemm() / (step
// time × threads); gemm_GFLOP/s = the calls' flops per second of their own time, over the team
// (flops / thread-seconds × threads); gemm_of_ceiling = that rate / the ceiling of the step's
// precision at the same thread count, measured once per process before the first step;
// gemm_f32_ms / gemm_bf16_ms: thread-milliseconds per step inside the float and the native bf16
// products (a bf16 step keeps f32 products where one operand is f32: attention's P and dS).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/synthetic_batches.h"
#include "core/train_step.h"
#include "kernels/gemm.h"
#include "kernels/matmul.h"
#include "kernels/threads.h"

namespace seqmend {
namespace {

using bench::BenchConfig;
using bench::checksum;
using bench::kBatches;
using bench::kRunSeed;
using bench::model_config;
using bench::synthetic_batches;

// GFLOP/s of one n × n × n matmul_forward, best of `reps`, at the current thread count.
double gemm_rate(int n, MatmulPrecision prec, int reps) {
  std::vector<float> a(size_t(n) * size_t(n)), w(a.size()), out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = float(i % 13) * 0.01f - 0.06f;
    w[i] = float(i % 7) * 0.02f - 0.06f;
  }
  matmul_forward(Device::CPU, out.data(), a.data(), w.data(), nullptr, n, n, n, prec);  // first touch
  double best = 0.0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    matmul_forward(Device::CPU, out.data(), a.data(), w.data(), nullptr, n, n, n, prec);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * double(n) * n * 1e-9 / s);
  }
  return best;
}

// The ceilings the GEMM share is compared with, per precision, measured once.
double ceiling(MatmulPrecision prec) {
  static const double f32 = gemm_rate(2048, MatmulPrecision::f32, 3);
  static const double bf16 = gemm_rate(2048, MatmulPrecision::bf16, 3);
  return prec == MatmulPrecision::bf16 ? bf16 : f32;
}

void BM_TrainStep(benchmark::State& state, BenchConfig bc, float dropout, const char* precision) {
  ModelConfig cfg = model_config(bc);
  cfg.emb_dropout = cfg.hidden_dropout = cfg.attn_dropout = dropout;
  cfg.precision = precision;
  ItemTransformer model(cfg);
  OptimizerConfig oc;
  oc.lr = 1e-3;
  oc.weight_decay = 0.01;
  oc.clip_norm = 1.0;
  AdamWOptimizer opt(model.params(), oc);
  const std::vector<Batch> batches = synthetic_batches(cfg, bc.B);
  int64_t step = 0;
  // One untimed step allocates the activation buffers (steady state allocates nothing).
  train_step(model, opt, batches[0], step++, kRunSeed);
  const bool bf16 = cfg.precision == "bf16";
  const double gemm_ceiling = ceiling(bf16 ? MatmulPrecision::bf16 : MatmulPrecision::f32);
  double tokens = 0, flops = 0, loss = 0;
  gemm_count(true);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const Batch& b = batches[size_t(step % kBatches)];
    ClozeStepResult r = train_step(model, opt, b, step++, kRunSeed);
    tokens += double(r.tokens);
    flops += model.train_flops(b);
    loss = r.loss;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const GemmCounters gc = gemm_counters();
  gemm_count(false);
  const double gemm_s = gc.f32.seconds + gc.bf16.seconds, gemm_flops = gc.f32.flops + gc.bf16.flops;
  const double gemm_team_rate = gemm_s > 0 ? gemm_flops * 1e-9 / gemm_s * num_threads() : 0.0;
  state.counters["gemm_share"] = gemm_s / (wall * num_threads());
  state.counters["gemm_GFLOP/s"] = gemm_team_rate;
  state.counters["gemm_of_ceiling"] = gemm_team_rate / gemm_ceiling;
  state.counters["gemm_bf16_flop_share"] = gemm_flops > 0 ? gc.bf16.flops / gemm_flops : 0.0;
  // thread-milliseconds per step inside the float and the native bf16 products
  state.counters["gemm_f32_ms"] = gc.f32.seconds * 1e3 / double(state.iterations());
  state.counters["gemm_bf16_ms"] = gc.bf16.seconds * 1e3 / double(state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/step"] = flops * 1e-9 / double(state.iterations());
  state.counters["batch_sum"] = checksum(batches);
  state.counters["threads"] = num_threads();
  state.counters["loss"] = loss;
}

void BM_GemmCeiling(benchmark::State& state, MatmulPrecision prec) {
  const int n = int(state.range(0));
  std::vector<float> a(size_t(n) * size_t(n)), w(a.size()), out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = float(i % 13) * 0.01f - 0.06f;
    w[i] = float(i % 7) * 0.02f - 0.06f;
  }
  matmul_forward(Device::CPU, out.data(), a.data(), w.data(), nullptr, n, n, n, prec);  // first touch
  for (auto _ : state) {
    matmul_forward(Device::CPU, out.data(), a.data(), w.data(), nullptr, n, n, n, prec);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * double(n) * n * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = num_threads();
}

}  // namespace
}  // namespace seqmend

int main(int argc, char** argv) {
  if (const char* t = std::getenv("SEQMEND_THREADS")) seqmend::set_num_threads(std::atoi(t));
  for (const seqmend::bench::BenchConfig& c : seqmend::bench::kConfigs) {
    const seqmend::ModelConfig dflt = seqmend::bench::model_config(c);
    benchmark::RegisterBenchmark((std::string("train_step/") + c.name).c_str(), seqmend::BM_TrainStep, c,
                                 dflt.hidden_dropout, "f32")
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("train_step/") + c.name + "/p0").c_str(), seqmend::BM_TrainStep, c,
                                 0.0f, "f32")
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("train_step/") + c.name + "/bf16").c_str(), seqmend::BM_TrainStep, c,
                                 dflt.hidden_dropout, "bf16")
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("train_step/") + c.name + "/bf16/p0").c_str(), seqmend::BM_TrainStep,
                                 c, 0.0f, "bf16")
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("gemm_ceiling", seqmend::BM_GemmCeiling, seqmend::MatmulPrecision::f32)
      ->Arg(2048)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("gemm_ceiling/bf16", seqmend::BM_GemmCeiling, seqmend::MatmulPrecision::bf16)
      ->Arg(2048)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
