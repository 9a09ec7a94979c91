// Detection metrics and repair throughput on one thread: ROC-AUC and average precision over N
// scores (sort-dominated, O(N log N)), and repair_sequences + undo_repair over an injected simulated
// set with random scores and a constant fake model (every policy on; the model is not timed).
//
//   bench_repair
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "experiments/eval/detection_metrics.h"
#include "experiments/repair/repair.h"
#include "experiments/detect/thresholds.h"
#include "io/injectors.h"
#include "io/simulator.h"

namespace {

using namespace seqmend;

void scores_and_labels(int64_t n, std::vector<float>& s, std::vector<uint8_t>& y) {
  std::mt19937 g(1);
  std::uniform_real_distribution<float> u(0, 1);
  s.resize(size_t(n));
  y.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    y[size_t(i)] = u(g) < 0.05f;
    s[size_t(i)] = u(g) + (y[size_t(i)] ? 0.3f : 0.0f);
  }
}

void BM_RocAuc(benchmark::State& state) {
  std::vector<float> s;
  std::vector<uint8_t> y;
  scores_and_labels(state.range(0), s, y);
  for (auto _ : state) benchmark::DoNotOptimize(roc_auc(s, y));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RocAuc)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_AveragePrecision(benchmark::State& state) {
  std::vector<float> s;
  std::vector<uint8_t> y;
  scores_and_labels(state.range(0), s, y);
  for (auto _ : state) benchmark::DoNotOptimize(average_precision(s, y));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AveragePrecision)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_BestF1Threshold(benchmark::State& state) {
  std::vector<float> s;
  std::vector<uint8_t> y;
  scores_and_labels(state.range(0), s, y);
  for (auto _ : state) benchmark::DoNotOptimize(best_f1_threshold(s, y));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BestF1Threshold)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

const SequenceSet& injected() {
  static SequenceSet data = [] {
    SimulatorConfig cfg;
    cfg.num_users = 20000;
    Simulator sim(cfg);
    SequenceSet clean = sim.generate(1);
    return inject(clean, InjectionConfig{}, 7).data;
  }();
  return data;
}

void BM_RepairAndUndo(benchmark::State& state) {
  const SequenceSet& in = injected();
  std::mt19937 g(3);
  std::uniform_real_distribution<float> u(0, 1);
  DetectorScores sc;
  for (int64_t i = 0; i < in.num_events(); ++i) sc.event.push_back(u(g)), sc.gap.push_back(u(g));
  for (int64_t i = 0; i < in.num_sequences(); ++i) sc.sequence.push_back(u(g));
  Predictor model = [](const SequenceSet&, const std::vector<PredictQuery>& q) {
    std::vector<Prediction> out(q.size());
    for (size_t k = 0; k < q.size(); ++k) out[k] = {int32_t(1 + k % 100), k % 3 ? 0.9f : 0.1f};
    return out;
  };
  size_t edits = 0;
  for (auto _ : state) {
    RepairResult r = repair_sequences(in, sc, Thresholds{0.95, 0.97, 0.97}, RepairConfig{}, model);
    SequenceSet back = undo_repair(r.repaired, r.quarantine, r.edits);
    edits = r.edits.size();
    benchmark::DoNotOptimize(back.item.data());
  }
  state.counters["events"] = double(in.num_events());
  state.counters["edits"] = double(edits);
  state.SetItemsProcessed(state.iterations() * in.num_events());
}
BENCHMARK(BM_RepairAndUndo)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
