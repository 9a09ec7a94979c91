// Shard-set throughput: reading (with and without the per-file CRC-32 check) and writing a few
// hundred thousand synthetic sequences shaped like interaction logs (skewed item popularity,
// increasing timestamps, mostly views, rare labels). Reports sequences/s and events/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "io/shard_set.h"

namespace seqmend {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kSequences = 300000;
constexpr int64_t kItems = 50000;
constexpr int64_t kUsers = kSequences;

SequenceSet make_log_like(int64_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::geometric_distribution<int64_t> len(1.0 / 20.0);  // mean ≈ 20 events
  SequenceSet s;
  std::vector<int32_t> items;
  std::vector<int64_t> ts;
  std::vector<int8_t> act, lab;
  for (int64_t i = 0; i < n; ++i) {
    int64_t L = 1 + std::min<int64_t>(len(rng), 199);
    items.resize(size_t(L));
    ts.resize(size_t(L));
    act.resize(size_t(L));
    lab.resize(size_t(L));
    int64_t t = 1500000000 + int64_t(rng() % 100000000);
    for (int64_t j = 0; j < L; ++j) {
      double u = u01(rng);
      items[size_t(j)] = int32_t(1 + int64_t(double(kItems - 1) * u * u * u));  // popular items first
      t += 5 + int64_t(rng() % 3600);
      ts[size_t(j)] = t;
      act[size_t(j)] = int8_t(u01(rng) < 0.9 ? kActionView : kActionClick + int(rng() % 3));
      lab[size_t(j)] = int8_t(u01(rng) < 0.03 ? kLabelNoiseClick : kLabelClean);
    }
    s.append(i, items.data(), L, ts.data(), act.data(), lab.data(), kLabelClean);
  }
  return s;
}

ManifestInfo bench_info() {
  ManifestInfo info;
  info.source = "shard_reader_bench synthetic log";
  info.num_items = kItems;
  for (int64_t u = 0; u < kUsers; ++u) info.user_ids.push_back(std::to_string(u));
  return info;
}

// Written once per process, removed at exit.
struct BenchData {
  std::string dir = "/tmp/seqmend_shard_bench_" + std::to_string(::getpid());
  SequenceSet data = make_log_like(kSequences, 7);
  BenchData() { write_shard_set(dir + "/set", bench_info(), {{"train", data}}); }
  ~BenchData() { fs::remove_all(dir); }
};

BenchData& bench_data() {
  static BenchData d;
  return d;
}

void report(benchmark::State& state, int64_t sequences, int64_t events) {
  state.counters["sequences/s"] = benchmark::Counter(double(sequences), benchmark::Counter::kIsRate);
  state.counters["events/s"] = benchmark::Counter(double(events), benchmark::Counter::kIsRate);
}

void BM_ShardRead(benchmark::State& state) {
  BenchData& d = bench_data();
  ShardSet set = ShardSet::open(d.dir + "/set");
  ShardReaderOptions o;
  o.verify_checksum = state.range(1) != 0;
  const SplitInfo& split = set.split("train");
  std::vector<int64_t> all(size_t(split.num_shards()));
  for (size_t k = 0; k < all.size(); ++k) all[k] = int64_t(k);
  int64_t seqs = 0, events = 0;
  SequenceSet batch;
  for (auto _ : state) {
    ShardReader r(set, "train", all, o);
    while (r.next(batch, state.range(0))) {
      seqs += batch.num_sequences();
      events += batch.num_events();
      benchmark::DoNotOptimize(batch.item.data());
    }
  }
  report(state, seqs, events);
  int64_t bytes = 0;
  for (const auto& e : split.shards) bytes += e.bytes;
  state.counters["shards"] = double(split.num_shards());
  state.counters["MB/shard"] = double(bytes) / double(split.num_shards()) / 1e6;
  state.counters["bytes/event"] = double(bytes) / double(split.events);
}
BENCHMARK(BM_ShardRead)
    ->ArgNames({"batch", "crc"})
    ->Args({256, 1})
    ->Args({256, 0})
    ->Args({4096, 1})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);

void BM_ShardWrite(benchmark::State& state) {
  BenchData& d = bench_data();
  ShardOptions o;
  o.overwrite = true;
  o.compression_level = int(state.range(0));
  for (auto _ : state) write_shard_set(d.dir + "/w", bench_info(), {{"train", d.data}}, o);
  report(state, int64_t(state.iterations()) * d.data.num_sequences(), int64_t(state.iterations()) * d.data.num_events());
}
BENCHMARK(BM_ShardWrite)->ArgName("deflate")->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace
}  // namespace seqmend

BENCHMARK_MAIN();
