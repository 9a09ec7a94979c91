// End-to-end ingest throughput: a generated CSV log (user, item, timestamp, action; users' events
// interleaved as in a real log, Zipf-like item popularity) → parse → clean → split → HDF5 shards.
// items_per_second is events per wall-clock second of the whole call on one thread; events_per_cpu_s
// is the same per second of process CPU time (the per-core rate). Bar: 2M events/s per core. About
// three quarters of the CPU time is the shard writer (deflate of train + valid + test, each nearly
// the whole data set under leave-one-out); parse + clean + split run at roughly 10M events/s.
//
//   bench_ingest [--rows=N]   (default 4,000,000 rows, about 110 MB of CSV in the temp folder)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "io/ingest.h"
#include "io/log_parsers.h"

namespace {

namespace fs = std::filesystem;

int64_t g_rows = 4'000'000;

const fs::path& work_dir() {
  static fs::path dir = fs::temp_directory_path() / ("seqmend-ingest-bench-" + std::to_string(::getpid()));
  return dir;
}

// Writes the log once per process; a simple LCG keeps generation far cheaper than the parse.
const std::string& csv_path() {
  static std::string path = [] {
    fs::create_directories(work_dir());
    std::string p = (work_dir() / "log.csv").string();
    FILE* f = std::fopen(p.c_str(), "wb");
    std::fputs("user_id,item_id,timestamp,action\n", f);
    const int64_t users = std::max<int64_t>(1, g_rows / 40), items = std::max<int64_t>(1, g_rows / 80);
    static const char* actions[] = {"view", "view", "view", "click", "cart", "buy"};
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    auto next = [&] {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      return x >> 11;
    };
    std::string buf;
    buf.reserve(1 << 20);
    char line[96];
    for (int64_t r = 0; r < g_rows; ++r) {
      int64_t u = int64_t(next() % uint64_t(users)) + 1000;
      double z = double(next() % 1000000 + 1) / 1e6;
      int64_t it = int64_t(std::pow(z, 3.0) * double(items)) + 1;  // popular items first
      int64_t ts = 1500000000 + r / 4;
      int n = std::snprintf(line, sizeof line, "%lld,%lld,%lld,%s\n", (long long)u, (long long)it, (long long)ts,
                            actions[next() % 6]);
      buf.append(line, size_t(n));
      if (buf.size() > (1 << 20) - 128) {
        std::fwrite(buf.data(), 1, buf.size(), f);
        buf.clear();
      }
    }
    std::fwrite(buf.data(), 1, buf.size(), f);
    std::fclose(f);
    return p;
  }();
  return path;
}

seqmend::IngestOptions bench_options(bool kcore) {
  seqmend::IngestOptions o;
  o.format = "csv";
  o.input = csv_path();
  o.parse.columns.action = "action";
  if (kcore) {
    o.clean.min_user_events = 5;
    o.clean.min_item_events = 5;
  }
  return o;
}

void BM_IngestCsvToShards(benchmark::State& state) {
  seqmend::IngestOptions o = bench_options(state.range(0) != 0);
  o.fsync = state.range(1) != 0;
  std::string out = (work_dir() / "out").string();
  int64_t events = 0;
  double cpu_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(out);
    state.ResumeTiming();
    std::clock_t c0 = std::clock();
    nlohmann::json m = seqmend::ingest_to_dir(o, out);
    cpu_seconds += double(std::clock() - c0) / CLOCKS_PER_SEC;
    events = m["extra"]["ingest"]["steps"][0]["events"].get<int64_t>();
  }
  state.SetItemsProcessed(state.iterations() * events);
  state.SetBytesProcessed(state.iterations() * int64_t(fs::file_size(o.input)));
  state.counters["rows"] = double(events);
  // Events per second of process CPU time: the per-core rate, independent of how busy the machine is
  // (items_per_second is per wall-clock second and drops when other jobs share the cores).
  state.counters["events_per_cpu_s"] = double(state.iterations() * events) / cpu_seconds;
}
BENCHMARK(BM_IngestCsvToShards)
    ->ArgNames({"kcore", "fsync"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// The parse alone, to see how the end-to-end time divides.
void BM_ParseCsv(benchmark::State& state) {
  seqmend::IngestOptions o = bench_options(false);
  int64_t events = 0;
  for (auto _ : state) {
    seqmend::ParseReport r;
    seqmend::EventTable t = seqmend::parse_log(o, r);
    events = t.size();
    benchmark::DoNotOptimize(t.user.data());
  }
  state.SetItemsProcessed(state.iterations() * events);
}
BENCHMARK(BM_ParseCsv)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--rows=", 7) == 0) {
      g_rows = std::atoll(argv[i] + 7);
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      --i;
    }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  fs::remove_all(work_dir(), ec);
  return 0;
}
