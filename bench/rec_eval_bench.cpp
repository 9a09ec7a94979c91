// Next-item evaluation at MovieLens-1M size: 6,040 users, 3,706 items, lengths uniform in 20..309
// (mean ≈ 165 like ML-1M), model C = 64, L = 2, NH = 2, T = 200. One iteration = one evaluate()
// over every user; the CPU column is the whole process (all threads), the fair figure on a shared
// machine. `hidden_only` is the model's share (hidden_at over the same batches), so
// the scoring and ranking cost is the difference.
//
//   SEQMEND_THREADS=2 bench_rec_eval
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "core/base/rng.h"
#include "core/model.h"
#include "experiments/eval/rec_eval.h"
#include "kernels/item_scores.h"
#include "kernels/threads.h"

namespace seqmend {
namespace {

constexpr int64_t kUsers = 6040, kItems = 3706;

ModelConfig bench_model() {
  ModelConfig c;
  c.num_items = kItems;
  c.d_model = 64;
  c.num_layers = 2;
  c.num_heads = 2;
  c.max_len = 200;
  return c;
}

// Valid split as ingest writes it: the stored sequence ends with the target. Split in 4 "shards".
std::vector<SequenceSet> bench_users() {
  std::vector<SequenceSet> shards(4);
  Rng rng(2024);
  std::vector<int32_t> items;
  for (int64_t u = 0; u < kUsers; ++u) {
    const int64_t len = 20 + int64_t(rng.below(290));
    items.clear();
    for (int64_t i = 0; i < len; ++i) items.push_back(int32_t(1 + rng.below(uint64_t(kItems))));
    shards[size_t(u * 4 / kUsers)].append(u, items.data(), len);
  }
  return shards;
}

std::vector<int64_t> uniform_counts() { return std::vector<int64_t>(size_t(kItems), 1); }

void run(benchmark::State& state, EvalConfig cfg) {
  ItemTransformer model(bench_model());
  const RecEvaluator ev(bench_users(), kItems, cfg, uniform_counts());
  nlohmann::json m;
  for (auto _ : state) m = ev.evaluate(model);
  state.counters["users/s"] = benchmark::Counter(double(kUsers), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(m.dump());
  state.counters["threads"] = num_threads();
}

void BM_full(benchmark::State& s) { run(s, EvalConfig{}); }
void BM_full_exclude_history(benchmark::State& s) {
  EvalConfig c;
  c.exclude_history = true;
  run(s, c);
}
void BM_sampled_100(benchmark::State& s) {
  EvalConfig c;
  c.protocol = "sampled";
  run(s, c);
}

// The model's share: the same batches through hidden_at, no scoring.
void BM_hidden_only(benchmark::State& state) {
  ItemTransformer model(bench_model());
  const std::vector<SequenceSet> shards = bench_users();
  const int64_t B = EvalConfig{}.batch_size;
  for (auto _ : state) {
    for (const SequenceSet& s : shards) {
      for (int64_t b0 = 0; b0 < s.num_sequences(); b0 += B) {
        std::vector<SequenceView> views;
        for (int64_t q = b0; q < std::min(b0 + B, s.num_sequences()); ++q)
          views.push_back({{s.item.data() + s.offsets[size_t(q)], size_t(s.length(q) - 1)}, {}, {}, q});
        const Batch batch = make_next_item_batch(views, model.config());
        benchmark::DoNotOptimize(model.hidden_at(batch, batch.target_rows));
      }
    }
  }
  state.counters["users/s"] = benchmark::Counter(double(kUsers), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = num_threads();
}

// The scoring and ranking alone, on one thread: every user's hidden state against every item in
// chunks of 32 rows (as rank_users does per thread), then the count of items scoring at least the
// target's score.
void BM_score_and_rank_one_thread(benchmark::State& state) {
  ItemTransformer model(bench_model());
  const int C = model.config().d_model;
  const float* table = model.params().param_ptr("emb.item") + C;
  const float* bias = model.params().param_ptr("out.bias") + 1;
  std::vector<float> hidden(size_t(kUsers) * size_t(C));
  Rng rng(5);
  for (float& h : hidden) h = rng.uniform() - 0.5f;
  const int64_t chunk = 32;
  std::vector<float> scores(size_t(chunk * kItems));
  int64_t sum = 0;
  for (auto _ : state) {
    for (int64_t r0 = 0; r0 < kUsers; r0 += chunk) {
      const int64_t n = std::min(chunk, kUsers - r0);
      item_scores(Device::CPU, scores.data(), hidden.data() + r0 * C, table, bias, n, C, kItems);
      for (int64_t r = 0; r < n; ++r) {
        const float* sc = scores.data() + r * kItems;
        const float st = sc[(r0 + r) % kItems];
        for (int64_t j = 0; j < kItems; ++j) sum += !(sc[j] < st);
      }
    }
  }
  benchmark::DoNotOptimize(sum);
  state.counters["users/s"] = benchmark::Counter(double(kUsers), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GMAC/s"] = benchmark::Counter(double(kUsers) * kItems * C * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_score_and_rank_one_thread)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_full)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_full_exclude_history)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_sampled_100)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_hidden_only)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime()->MinTime(2.0);

}  // namespace
}  // namespace seqmend

int main(int argc, char** argv) {
  if (const char* t = std::getenv("SEQMEND_THREADS")) seqmend::set_num_threads(std::atoi(t));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
