// The shard cache's read-ahead on the clock: one rank drives a cached loader through epochs of a
// shard set as the trainer does — views of its share of batch b, then a simulated compute of C ms
// (a busy loop on this thread, as a training step occupies its core; with --sleep 1 a sleep, which
// leaves the core to others) — once without read-ahead and
// once with it (the shards of batch b + 1 handed to the cache's thread before the compute). Prints
// the wall time of an epoch, the part of it spent waiting in views(), shards read and read-ahead
// hits, each the median over the repeats (the two modes alternate, so both see the same page cache).
//
//   bench/read_ahead DATA_DIR [--cache-mb MB] [--batch 64] [--compute-ms 5] [--sleep 0|1]
//                             [--epochs 2] [--repeats 3] [--max-len 200]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "experiments/train/data_parallel_loader.h"
#include "io/shard_set.h"

using namespace seqmend;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void compute(double seconds, bool sleep) {
  if (sleep) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    return;
  }
  const double until = now_s() + seconds;
  while (now_s() < until) {
  }
}

struct Run {
  double epoch_s = 0, wait_s = 0;
  int64_t bytes_read = 0, hits = 0;
};

Run drive(const ShardSet& set, int64_t batch, int64_t max_len, int64_t cache_bytes, double compute_s,
          bool sleep, int64_t epochs, bool ahead) {
  DataParallelLoader loader(set, "train", 0, 1, batch, 1, max_len, cache_bytes);
  const int64_t per_epoch = loader.batches_per_epoch(), steps = epochs * per_epoch;
  Run r;
  const double t0 = now_s();
  for (int64_t step = 0; step < steps; ++step) {
    const auto ids = loader.global_batch_ids(step / per_epoch, step % per_epoch);
    const double tw = now_s();
    const auto v = loader.views(loader.local_part(ids, 0, 1));
    r.wait_s += now_s() - tw;
    if (ahead && step + 1 < steps)
      loader.prefetch(loader.global_batch_ids((step + 1) / per_epoch, (step + 1) % per_epoch), 1);
    compute(compute_s, sleep);
  }
  r.epoch_s = (now_s() - t0) / double(epochs);
  r.wait_s /= double(epochs);
  r.bytes_read = loader.bytes_read() / epochs;
  r.hits = loader.prefetch_hits();
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR [--cache-mb MB] [--batch 64] [--compute-ms 5] [--epochs 2] "
                         "[--sleep 0|1] [--repeats 3] [--max-len 200]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  double cache_mb = 0, compute_ms = 5;
  bool sleep = false;
  int64_t batch = 64, epochs = 2, repeats = 3, max_len = 200;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--cache-mb") cache_mb = std::atof(v.c_str());
    else if (k == "--batch") batch = std::atoll(v.c_str());
    else if (k == "--compute-ms") compute_ms = std::atof(v.c_str());
    else if (k == "--sleep") sleep = std::atoi(v.c_str()) != 0;
    else if (k == "--epochs") epochs = std::atoll(v.c_str());
    else if (k == "--repeats") repeats = std::atoll(v.c_str());
    else if (k == "--max-len") max_len = std::atoll(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const ShardSet set = ShardSet::open(dir);
  const SplitInfo& train = set.split("train");
  int64_t decoded = 0;
  for (const auto& sh : train.shards) decoded += ShardCache::decoded_bytes_at_most(sh);
  // Default budget: a quarter of the split decoded, so that windows turn over within an epoch.
  const int64_t cache_bytes = cache_mb > 0 ? int64_t(cache_mb * 1e6) : std::max<int64_t>(decoded / 4, 1);
  const DataParallelLoader probe(set, "train", 0, 1, batch, 1, max_len, cache_bytes);
  std::printf("%s: %lld train sequences, %lld shards, %.2f MB decoded at most; cache %.2f MB (windows of %lld "
              "shards), batch %lld, %lld batches/epoch, compute %.1f ms per batch (%s)\n\n",
              dir.c_str(), (long long)train.sequences, (long long)train.num_shards(), double(decoded) / 1e6,
              double(cache_bytes) / 1e6, (long long)probe.window_shards(), (long long)batch,
              (long long)probe.batches_per_epoch(), compute_ms, sleep ? "sleeping" : "busy");
  std::vector<double> epoch[2], wait[2];
  Run last[2];
  for (int64_t rep = 0; rep < repeats; ++rep)
    for (int ahead : {0, 1}) {
      last[ahead] = drive(set, batch, max_len, cache_bytes, compute_ms / 1e3, sleep, epochs, ahead != 0);
      epoch[ahead].push_back(last[ahead].epoch_s);
      wait[ahead].push_back(last[ahead].wait_s);
    }
  std::printf("| read-ahead | epoch (ms) | waiting in views() (ms/epoch) | MB read per epoch | read-ahead hits (all epochs) |\n"
              "|---|---|---|---|---|\n");
  for (int ahead : {0, 1})
    std::printf("| %s | %.1f | %.1f | %.2f | %lld |\n", ahead ? "on" : "off", median(epoch[ahead]) * 1e3,
                median(wait[ahead]) * 1e3, double(last[ahead].bytes_read) / 1e6, (long long)last[ahead].hits);
  return 0;
}
