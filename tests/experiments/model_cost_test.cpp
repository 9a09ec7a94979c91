// What a model size costs (experiments/cli/model_cost.h): the parameter count is the model's own, the
// FLOPs follow the documented formula, the data shape comes from the manifest, and the estimates
// grow the way they must (memory with the model, the data and the batch; steps with the epochs).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/model.h"
#include "experiments/cli/model_cost.h"
#include "experiments/train/pretrain_config.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

TEST(ModelCostTest, ParameterCountIsTheModelsOwn) {
  for (auto [C, L, V, T] : {std::tuple{8, 1, 20, 10}, {16, 2, 80, 24}, {32, 3, 1682, 50}, {24, 0, 7, 5}}) {
    ModelConfig cfg;
    cfg.d_model = C;
    cfg.num_layers = L;
    cfg.num_heads = 2;
    cfg.num_items = V;
    cfg.max_len = T;
    ItemTransformer model(cfg);
    int64_t n = 0;
    for (const auto& e : model.params().entries()) n += e.numel;
    EXPECT_EQ(parameter_count(cfg), n) << "C=" << C << " L=" << L << " V=" << V;
  }
  // By hand for C = 8, L = 1, V = 20, T = 10: tables (22 + 10 + 16 + 32) x 8, embedding LN 16, block
  // 12 C² + 13 C = 872, final LN 16, output bias 22.
  ModelConfig c;
  c.d_model = 8;
  c.num_layers = 1;
  c.num_heads = 2;
  c.num_items = 20;
  c.max_len = 10;
  EXPECT_EQ(parameter_count(c), 80 * 8 + 16 + 872 + 16 + 22);
}

TEST(ModelCostTest, TrainingFlopsFollowTheFormula) {
  ModelConfig m;
  m.d_model = 64;
  m.num_layers = 2;
  m.num_items = 1000;
  m.objective = "causal";
  // 3 × [tokens × L (24 C² + 4 C ctx) + targets × 2 C (V + 2)], ctx = (len + 1) / 2 = 25.5.
  const double expect = 3.0 * (1000.0 * 2 * (24.0 * 64 * 64 + 4.0 * 64 * 25.5) + 980.0 * 2 * 64 * 1002);
  EXPECT_DOUBLE_EQ(train_flops(m, 1000, 980, 50), expect);
  m.objective = "cloze";  // bidirectional: every query sees the whole sequence
  EXPECT_GT(train_flops(m, 1000, 980, 50), expect);

  PretrainConfig p;
  p.model.objective = "causal";
  EXPECT_DOUBLE_EQ(targets_per_token(p, 50), 49.0 / 50.0);
  p.model.objective = "cloze";
  p.mask_prob = 0.2;
  EXPECT_DOUBLE_EQ(targets_per_token(p, 50), 0.2);
}

TEST(ModelCostTest, DataShapeAndEstimatesFromTheManifest) {
  const test::TempDir tmp("seqmend_model_cost");
  const fs::path& dir = tmp.path();
  std::ofstream(dir / "manifest.json")
      << R"({"num_items": 1682, "splits": {"train": {"sequences": 943, "events": 97000},
            "valid": {"sequences": 943, "events": 97943}, "test": {"sequences": 943, "events": 98886}}})";
  DataShape d = data_shape(dir.string(), 50);
  EXPECT_EQ(d.num_items, 1682);
  EXPECT_EQ(d.train_sequences, 943);
  EXPECT_DOUBLE_EQ(d.mean_tokens, 50.0);  // 102.9 events per sequence, cut at max_len
  EXPECT_DOUBLE_EQ(data_shape(dir.string(), 500).mean_tokens, 97000.0 / 943.0);
  EXPECT_GT(d.total_bytes, 14.0 * 290000);

  PretrainConfig p;
  p.model.d_model = 64;
  p.model.max_len = 50;
  p.model.objective = "causal";
  p.global_batch_size = 128;
  p.epochs = 10;
  CostEstimate e = estimate_pretrain_cost(p, d, 1, 10.0);
  EXPECT_EQ(e.steps, 10 * 8);  // ceil(943 / 128) = 8 steps per epoch
  ModelConfig m = p.model;
  m.num_items = 1682;
  EXPECT_EQ(e.params, parameter_count(m));
  EXPECT_DOUBLE_EQ(e.flops_per_step, train_flops(m, 128 * 50.0, 128 * 49.0, 50));
  EXPECT_DOUBLE_EQ(e.step_seconds, e.flops_per_step / 1e10);
  EXPECT_GT(e.bytes_per_rank, 24.0 * e.params);
  p.max_steps = 30;
  EXPECT_EQ(estimate_pretrain_cost(p, d, 1, 0).steps, 30);  // whichever ends first
  p.model.d_model = 256;
  EXPECT_GT(estimate_pretrain_cost(p, d, 1, 0).bytes_per_rank, e.bytes_per_rank);
  // Two ranks hold half the activations each.
  p.model.d_model = 64;
  EXPECT_LT(estimate_pretrain_cost(p, d, 2, 0).bytes_per_rank, estimate_pretrain_cost(p, d, 1, 0).bytes_per_rank);
  fs::remove(dir / "manifest.json");
  try {
    data_shape(dir.string(), 50);
    FAIL() << "no error for a missing manifest";
  } catch (const std::exception& ex) {
    EXPECT_NE(std::string(ex.what()).find("no shard set at " + dir.string()), std::string::npos);
  }
}

TEST(ModelCostTest, MachineRateAndMemoryAreMeasured) {
  EXPECT_GT(measured_step_gflops(1), 0.01);
  EXPECT_GT(available_memory_bytes(), 1e7);
  EXPECT_EQ(si_number(3090), "3.1k");
  EXPECT_EQ(si_number(1.5e9), "1.5G");
  EXPECT_EQ(si_number(12), "12");
  EXPECT_EQ(byte_size(512), "512 B");
  EXPECT_EQ(byte_size(3.5 * 1024 * 1024), "3.5 MiB");
}

}  // namespace
}  // namespace seqmend
