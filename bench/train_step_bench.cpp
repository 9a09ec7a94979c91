// One whole cloze training step (zero grads, forward, backward, clip, AdamW) at the three reference
// configs, on the synthetic batches of bench/synthetic_batches.h (which tools/bench_vs_torch.py
// regenerates bit for bit for the PyTorch twin).
//
//   SEQMEND_THREADS=1 bench_train_step --benchmark_filter='train_step/a$'
//
// Counters: tokens/s (valid tokens), GFLOP/s (Bert4Rec::train_flops: matmuls + attention on valid
// tokens only), batch_sum (a checksum the comparison script checks against its own batches).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "bench/synthetic_batches.h"
#include "core/train_step.h"
#include "kernels/threads.h"

namespace seqmend {
namespace {

using bench::BenchConfig;
using bench::checksum;
using bench::kBatches;
using bench::kRunSeed;
using bench::model_config;
using bench::synthetic_batches;

void BM_TrainStep(benchmark::State& state, BenchConfig bc) {
  const ModelConfig cfg = model_config(bc);
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

}  // namespace
}  // namespace seqmend

int main(int argc, char** argv) {
  if (const char* t = std::getenv("SEQMEND_THREADS")) seqmend::set_num_threads(std::atoi(t));
  for (const seqmend::bench::BenchConfig& c : seqmend::bench::kConfigs) {
    benchmark::RegisterBenchmark((std::string("train_step/") + c.name).c_str(), seqmend::BM_TrainStep, c)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
