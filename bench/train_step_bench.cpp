// One whole cloze training step (zero grads, forward, backward, clip, AdamW) at the three reference
// configs, on the synthetic batches of bench/synthetic_batches.h (which tools/bench_vs_torch.py
// regenerates bit for bit for the PyTorch peer). train_step/<config> runs at the model's default
// dropout (0.1 at every site), train_step/<config>/p0 without dropout: dropout's masks are a visible
// share of a small model's step, so the comparison reports both. train_step/<config>/bf16: the
// default dropout with model.precision bf16 (native bf16 products where the CPU has them,
// kernels/gemm.h).
//
//   SEQMEND_THREADS=1 bench_train_step --benchmark_filter='^train_step/a/'
//
// Counters: tokens/s (valid tokens), GFLOP/s (Bert4Rec::train_flops: matmuls + attention on valid
// tokens only), batch_sum (a checksum the comparison script checks against its own batches).
// gemm_ceiling/<n>: one n × n × n product through matmul_forward, i.e. our GEMM library split over
// our thread team as the model's layers call it — the rate the step's GFLOP/s is measured against.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "bench/synthetic_batches.h"
#include "core/train_step.h"
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

void BM_TrainStep(benchmark::State& state, BenchConfig bc, float dropout, const char* precision) {
  ModelConfig cfg = model_config(bc);
  cfg.emb_dropout = cfg.hidden_dropout = cfg.attn_dropout = dropout;
  cfg.precision = precision;
  Bert4Rec model(cfg);
  OptimizerConfig oc;
  oc.lr = 1e-3;
  oc.weight_decay = 0.01;
  oc.clip_norm = 1.0;
  AdamWOptimizer opt(model.params(), oc);
  const std::vector<Batch> batches = synthetic_batches(cfg, bc.B);
  int64_t step = 0;
  // One untimed step allocates the activation buffers (steady state allocates nothing).
  train_step(model, opt, batches[0], step++, kRunSeed);
  double tokens = 0, flops = 0, loss = 0;
  for (auto _ : state) {
    const Batch& b = batches[size_t(step % kBatches)];
    StepResult r = train_step(model, opt, b, step++, kRunSeed);
    tokens += double(r.tokens);
    flops += model.train_flops(b);
    loss = r.loss;
  }
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/step"] = flops * 1e-9 / double(state.iterations());
  state.counters["batch_sum"] = checksum(batches);
  state.counters["threads"] = num_threads();
  state.counters["loss"] = loss;
}

void BM_GemmCeiling(benchmark::State& state) {
  const int n = int(state.range(0));
  std::vector<float> a(size_t(n) * size_t(n)), w(a.size()), out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = float(i % 13) * 0.01f - 0.06f;
    w[i] = float(i % 7) * 0.02f - 0.06f;
  }
  matmul_forward(Device::CPU, out.data(), a.data(), w.data(), nullptr, n, n, n);  // first touch
  for (auto _ : state) {
    matmul_forward(Device::CPU, out.data(), a.data(), w.data(), nullptr, n, n, n);
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
  }
  benchmark::RegisterBenchmark("gemm_ceiling", seqmend::BM_GemmCeiling)
      ->Arg(2048)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
