#include "experiments/cli/model_cost.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/input_embedding.h"
#include "core/param_buffer.h"
#include "core/transformer_block.h"
#include "experiments/train/pretrain_config.h"
#include "io/json_file.h"
#include "kernels/matmul.h"
#include "kernels/threads.h"

namespace seqmend {

int64_t parameter_count(const ModelConfig& cfg) {
  // The layers' own registrations, so a new parameter is counted the day it is added; the three
  // final entries are ItemTransformer's constructor's (core/model.cpp), checked against it by model_cost_test.
  ParamBuffer pb;
  InputEmbedding::register_params(pb, cfg);
  for (int l = 0; l < cfg.num_layers; ++l) TransformerBlock::register_params(pb, cfg, l);
  int64_t n = 2 * int64_t(cfg.d_model) + cfg.table_rows();  // final LayerNorm, output bias
  for (const auto& e : pb.entries()) n += e.numel;
  return n;
}

DataShape data_shape(const std::string& data_dir, int max_len) {
  const std::string path = data_dir + "/manifest.json";
  if (!std::filesystem::is_regular_file(path)) SEQ_FAIL("no shard set at ", data_dir, " (", path, " is missing)");
  const nlohmann::json m = read_json_file(path, "shard set");
  DataShape d;
  d.num_items = m.value("num_items", int64_t(0));
  const nlohmann::json splits = m.value("splits", nlohmann::json::object());
  const nlohmann::json train = splits.value("train", nlohmann::json::object());
  d.train_sequences = train.value("sequences", int64_t(0));
  const double events = train.value("events", 0.0);
  d.mean_tokens = d.train_sequences > 0 ? std::min(events / double(d.train_sequences), double(max_len)) : 0.0;
  // Item (4 B), user and offsets (8 B per sequence), timestamp (8 B), action and label (1 B each).
  for (const auto& [name, s] : splits.items())
    d.total_bytes += 14.0 * s.value("events", 0.0) + 16.0 * s.value("sequences", 0.0);
  return d;
}

double targets_per_token(const PretrainConfig& cfg, double mean_tokens) {
  if (cfg.model.causal()) return mean_tokens > 1.0 ? (mean_tokens - 1.0) / mean_tokens : 0.0;
  return std::min(1.0, cfg.mask_prob + (mean_tokens > 0.0 ? cfg.last_item_prob / mean_tokens : 0.0));
}

double train_flops(const ModelConfig& cfg, double tokens, double targets, double mean_tokens) {
  const double C = cfg.d_model, L = cfg.num_layers, V = double(cfg.num_items);
  const double ctx = cfg.causal() ? (mean_tokens + 1.0) / 2.0 : mean_tokens;
  const double forward = tokens * L * (24.0 * C * C + 4.0 * C * ctx) + targets * 2.0 * C * (V + 2.0);
  return 3.0 * forward;
}

CostEstimate estimate_pretrain_cost(const PretrainConfig& cfg, const DataShape& data, int world, double gflops) {
  ModelConfig m = cfg.model;
  if (m.num_items == 0) m.num_items = data.num_items;
  CostEstimate e;
  e.params = parameter_count(m);
  const int64_t per_epoch =
      data.train_sequences > 0 ? (data.train_sequences + cfg.global_batch_size - 1) / cfg.global_batch_size : 0;
  e.steps = cfg.max_steps > 0 ? cfg.max_steps : cfg.epochs * per_epoch;
  if (cfg.max_steps > 0 && cfg.epochs > 0) e.steps = std::min(e.steps, cfg.epochs * per_epoch);
  const double seqs = double(std::min<int64_t>(cfg.global_batch_size, std::max<int64_t>(data.train_sequences, 1)));
  // A cropped sample keeps a prefix of 2..len events, (len + 2) / 2 on average.
  const double mean = (1.0 - cfg.crop_prob) * data.mean_tokens + cfg.crop_prob * (data.mean_tokens + 2.0) / 2.0;
  const double tokens = seqs * mean;
  const double targets = tokens * targets_per_token(cfg, mean);
  e.flops_per_step = train_flops(m, tokens, targets, mean);
  if (gflops > 0.0) e.step_seconds = e.flops_per_step / (gflops * 1e9);

  // One rank's share of a micro-batch.
  const double w = std::max(1, world);
  const double micro_tokens = tokens / double(std::max<int64_t>(cfg.grad_accum_steps, 1)) / w;
  const double micro_targets = targets / double(std::max<int64_t>(cfg.grad_accum_steps, 1)) / w;
  const double C = m.d_model, V = double(m.num_items) + 2.0;
  // Parameters, gradients, two AdamW moments, the best parameters and the copy the test takes.
  double bytes = 6.0 * 4.0 * double(e.params);
  // Activations kept for backward and their gradients: ~40 C floats per token and layer, the input
  // layer's few C, the attention's per-head softmax statistics.
  bytes += 4.0 * micro_tokens * (40.0 * C * m.num_layers + 8.0 * C + 2.0 * m.num_heads * m.num_layers);
  // Logits of one chunk of target rows (softmax_xent's chunk_rows, 256), per thread, and their rows'
  // hidden gradients; the evaluation's score chunks are smaller.
  const double threads = std::max(1, num_threads());
  bytes += 4.0 * std::min(micro_targets, 256.0) * V * threads + 4.0 * micro_targets * C;
  bytes += 4.0 * double(cfg.eval.score_chunk_rows) * V * threads;
  bytes += data.total_bytes;
  e.bytes_per_rank = bytes;
  return e;
}

double measured_step_gflops(int threads) {
  // A whole step (attention, LayerNorms, dropout, the fused output layer, the optimizer) reaches a
  // share of the plain sgemm rate. Read off the ML-100K sweep (d_model 64-128, 2 threads) while the
  // shared 2-core machine was nearly idle: steps took 0.33-0.65 of an estimate made with 0.35, so
  // about 0.7. The sgemm is timed in a burst, so other work on the machine slows the steps and not
  // the estimate: at a load of 5-10 the same sweep's steps took up to 8 times the 0.35 estimate.
  constexpr double kStepShare = 0.7;
  const int before = num_threads();
  set_num_threads(std::max(1, threads));
  const int64_t N = 1024;
  const int C = 256, OC = 256;
  std::vector<float> x(size_t(N) * C, 0.5f), w(size_t(OC) * C, 0.25f), y(size_t(N) * OC);
  matmul_forward(Device::CPU, y.data(), x.data(), w.data(), nullptr, N, C, OC);  // warm-up: threads, pages
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    matmul_forward(Device::CPU, y.data(), x.data(), w.data(), nullptr, N, C, OC);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  set_num_threads(before);
  return kStepShare * 2.0 * double(N) * C * OC / std::max(best, 1e-9) / 1e9;
}

double available_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream s(line);
    std::string key;
    double kb = 0;
    if (s >> key >> kb && key == "MemAvailable:") return kb * 1024.0;
  }
  return 0.0;
}

std::string si_number(double x) {
  const char* units[] = {"", "k", "M", "G", "T", "P", "E"};
  int u = 0;
  while (std::fabs(x) >= 1000.0 && u < 6) {
    x /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.1f%s", x, units[u]);
  return buf;
}

std::string byte_size(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

}  // namespace seqmend
