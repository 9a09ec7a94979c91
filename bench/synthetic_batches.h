// The training-step benchmark's three reference configs and synthetic batches, shared by the CPU
// benchmark (train_step_bench.cpp), the GPU one (cuda_train_bench.cpp) and, bit for bit, by
// tools/bench_vs_torch.py for the PyTorch twin: sample s of batch k draws Rng(kDataSeed, k·B + s):
// length T/2 + below(T − T/2 + 1), then each item 1 + below(V); cloze masking with mask_prob 0.2,
// seed kDataSeed, epoch k.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/rng.h"
#include "core/batch.h"

namespace seqmend::bench {

constexpr uint64_t kDataSeed = 2024;
constexpr uint64_t kRunSeed = 7;
constexpr int kBatches = 3;

struct BenchConfig {
  const char* name;
  int64_t V;
  int C, L, NH, T, B;
};

inline const BenchConfig kConfigs[] = {
    {"a", 3706, 64, 2, 2, 200, 128},
    {"b", 3706, 256, 4, 4, 200, 128},
    {"c", 100000, 128, 2, 2, 50, 128},
};

inline ModelConfig model_config(const BenchConfig& b) {
  ModelConfig c;
  c.num_items = b.V;
  c.d_model = b.C;
  c.num_layers = b.L;
  c.num_heads = b.NH;
  c.max_len = b.T;
  c.emb_dropout = c.hidden_dropout = c.attn_dropout = 0.1f;
  return c;
}

inline std::vector<Batch> synthetic_batches(const ModelConfig& cfg, int B) {
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

inline double checksum(const std::vector<Batch>& bs) {
  double s = 0;
  for (const Batch& b : bs) {
    for (int32_t v : b.item) s += v;
    for (int64_t r : b.target_rows) s += double(r);
  }
  return s;
}

}  // namespace seqmend::bench
