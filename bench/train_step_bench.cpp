// One whole cloze training step (zero grads, forward, backward, clip, AdamW) at the three reference
// configs, on synthetic batches that tools/bench_vs_torch.py regenerates bit for bit for the PyTorch
// twin: sample s of batch k draws Rng(kDataSeed, k·B + s): length T/2 + below(T − T/2 + 1), then each
// item 1 + below(V); cloze masking with mask_prob 0.2, seed kDataSeed, epoch k.
//
//   SEQMEND_THREADS=1 bench_train_step --benchmark_filter='train_step/a$'
//
// Counters: tokens/s (valid tokens), GFLOP/s (Bert4Rec::train_flops: matmuls + attention on valid
// tokens only), batch_sum (a checksum the comparison script checks against its own batches).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/base/rng.h"
#include "core/train_step.h"
#include "kernels/threads.h"

namespace seqmend {
namespace {

constexpr uint64_t kDataSeed = 2024;
constexpr uint64_t kRunSeed = 7;
constexpr int kBatches = 3;

struct BenchConfig {
  const char* name;
  int64_t V;
  int C, L, NH, T, B;
};

const BenchConfig kConfigs[] = {
    {"a", 3706, 64, 2, 2, 200, 128},
    {"b", 3706, 256, 4, 4, 200, 128},
    {"c", 100000, 128, 2, 2, 50, 128},
};

ModelConfig model_config(const BenchConfig& b) {
  ModelConfig c;
  c.num_items = b.V;
  c.d_model = b.C;
  c.num_layers = b.L;
  c.num_heads = b.NH;
  c.max_len = b.T;
  c.emb_dropout = c.hidden_dropout = c.attn_dropout = 0.1f;
  return c;
}

std::vector<Batch> synthetic_batches(const ModelConfig& cfg, int B) {
  std::vector<Batch> out;
  const int T = cfg.max_len;
  for (int k = 0; k < kBatches; ++k) {
    std::vector<std::vector<int32_t>> items(static_cast<size_t>(B));
    std::vector<SequenceView> views;
    for (int s = 0; s < B; ++s) {
      const int64_t id = int64_t(k) * B + s;
      Rng r(kDataSeed, uint64_t(id));
      const int64_t len = T / 2 + int64_t(r.below(uint64_t(T - T / 2 + 1)));
      for (int64_t i = 0; i < len; ++i) items[size_t(s)].push_back(int32_t(1 + r.below(uint64_t(cfg.num_items))));
      views.push_back({items[size_t(s)], {}, {}, id});
    }
    ClozeOptions co;
    co.mask_prob = 0.2f;
    co.seed = kDataSeed;
    co.epoch = uint64_t(k);
    out.push_back(make_cloze_batch(views, cfg, co));
  }
  return out;
}

double checksum(const std::vector<Batch>& bs) {
  double s = 0;
  for (const Batch& b : bs) {
    for (int32_t v : b.item) s += v;
    for (int64_t r : b.target_rows) s += double(r);
  }
  return s;
}

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
  for (const seqmend::BenchConfig& c : seqmend::kConfigs) {
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
