// Data parallelism on paper: what each rank of a W-rank run would get from the loader over an
// epoch of a real shard set, without training — tokens per rank per step (max/mean: mean over the
// steps and the worst step), ranks that get nothing, bytes read and memory held per rank.
//
//   bench/loader_scale DATA_DIR [--worlds 1,2,8,64,512] [--per-rank-batch 64] [--max-len 200]
//                               [--cache-mb MB]
//
// The global batch is per-rank batch × W (how data-parallel runs scale). Without --cache-mb every
// rank holds the whole split (experiments/train/data_parallel_loader.h): bytes read and memory per rank
// are the split's at every W. With it, ranks 0 and W − 1 are each driven through the epoch (their
// views fetched as training would) and the larger of their shard bytes read and peak memory is
// shown; every rank also reads the whole split once at start-up for the sequence lengths.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/train/data_parallel_loader.h"
#include "experiments/train/token_deal.h"
#include "io/shard_set.h"

using namespace seqmend;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DATA_DIR [--worlds 1,2,8,64,512] [--per-rank-batch 64] [--max-len 200]\n",
                 argv[0]);
    return 2;
  }
  std::string dir = argv[1], worlds_arg = "1,2,8,64,512";
  int64_t per_rank = 64, max_len = 200;
  double cache_mb = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--worlds") worlds_arg = v;
    else if (k == "--per-rank-batch") per_rank = std::atoll(v.c_str());
    else if (k == "--max-len") max_len = std::atoll(v.c_str());
    else if (k == "--cache-mb") cache_mb = std::atof(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::vector<int> worlds;
  std::stringstream ss(worlds_arg);
  for (std::string w; std::getline(ss, w, ',');) worlds.push_back(std::atoi(w.c_str()));

  const ShardSet set = ShardSet::open(dir);
  const SplitInfo& train = set.split("train");
  int64_t file_bytes = 0;
  for (const auto& s : train.shards) file_bytes += s.bytes;
  std::printf("%s: %lld train sequences, %lld events, %lld shards (%.1f MB on disk); per-rank batch %lld, "
              "tokens = min(length, %lld); %s\n\n",
              dir.c_str(), (long long)train.sequences, (long long)train.events, (long long)train.num_shards(),
              double(file_bytes) / 1e6, (long long)per_rank, (long long)max_len,
              cache_mb > 0 ? ("shard cache " + std::to_string(cache_mb) + " MB per rank").c_str()
                           : "every rank holds the split");
  std::printf("| ranks | global batch | steps/epoch | max/mean tokens (mean) | (worst step) | ranks idle in a step "
              "| MB read per rank | MB held per rank |\n|---|---|---|---|---|---|---|---|\n");
  for (int W : worlds) {
    const int64_t G = per_rank * W;
    const int64_t cache_bytes = int64_t(cache_mb * 1e6);
    DataParallelLoader loader(set, "train", 0, W, G, 1, max_len, cache_bytes);
    std::vector<std::unique_ptr<DataParallelLoader>> driven;  // ranks whose reads are measured
    if (cache_bytes > 0) {
      for (int r : {0, W - 1}) {
        driven.push_back(std::make_unique<DataParallelLoader>(set, "train", r, W, G, 1, max_len, cache_bytes));
        if (W == 1) break;
      }
    }
    double sum = 0, worst = 0;
    int64_t steps = 0, idle = 0;
    for (int64_t b = 0; b < loader.batches_per_epoch(); ++b) {
      const auto ids = loader.global_batch_ids(0, b);
      for (auto& d : driven) d->views(d->local_part(d->global_batch_ids(0, b), 0, 1));
      if (int64_t(ids.size()) < G) continue;  // the epoch's short last batch
      std::vector<int64_t> cost;
      for (int64_t id : ids) cost.push_back(loader.tokens(id));
      const std::vector<int> rank_of = deal_by_tokens(cost, W);
      const double bal = token_balance(cost, rank_of, W);
      std::vector<char> used(static_cast<size_t>(W), 0);
      for (int r : rank_of) used[size_t(r)] = 1;
      for (char u : used) idle += !u;
      sum += bal;
      worst = std::max(worst, bal);
      ++steps;
    }
    double read = double(file_bytes) / 1e6, held = double(loader.peak_bytes()) / 1e6;
    if (!driven.empty()) {
      read = held = 0;
      for (auto& d : driven) {
        read = std::max(read, double(d->bytes_read()) / 1e6);
        held = std::max(held, double(d->peak_bytes()) / 1e6);
      }
    }
    if (steps == 0) {
      std::printf("| %d | %lld | 0 | – | – | – | %.1f | %.1f |\n", W, (long long)G, read, held);
      continue;
    }
    std::printf("| %d | %lld | %lld | %.3f | %.3f | %lld | %.1f | %.1f |\n", W, (long long)G, (long long)steps,
                sum / double(steps), worst, (long long)idle, read, held);
    std::fflush(stdout);
  }
  return 0;
}
