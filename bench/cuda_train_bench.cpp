// Whole training steps on the GPU (zero grads, forward, backward, clip, AdamW: core/train_step.h
// with the model on Device::CUDA) at the three reference configs, on the synthetic batches of
// bench/synthetic_batches.h that tools/device/train_bench_torch.py regenerates for the PyTorch twin
// on the same GPU. A plain program for the device bundle (no Google Benchmark there).
//   bench_cuda_train [out.tsv] [seconds per config, default 3]
// Each config runs in f32 (the twin's precision) and with model.precision bf16 (config name "<c>_bf16").
// Columns: config, ms_per_step (mean over the timed steps: every step reads its loss back, as
// training does), tokens_per_s (valid tokens), TFLOP_per_s (ItemTransformer::train_flops), loss (of the
// last step), batch_sum (checked by the twin's script against its own batches).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "bench/synthetic_batches.h"
#include "core/train_step.h"
#include "kernels/device.h"

namespace seqmend {
namespace {

struct Line {
  std::string config;
  double ms, tokens_per_s, tflops, loss, batch_sum;
};

Line bench_config(const bench::BenchConfig& bc, const std::string& precision, double seconds) {
  ModelConfig cfg = bench::model_config(bc);
  cfg.precision = precision;
  ItemTransformer model(cfg, Device::CUDA);
  OptimizerConfig oc;
  oc.lr = 1e-3;
  oc.weight_decay = 0.01;
  oc.clip_norm = 1.0;
  AdamWOptimizer opt(model.params(), oc);
  const std::vector<Batch> batches = bench::synthetic_batches(cfg, bc.B);
  int64_t step = 0;
  // Untimed steps: cuBLAS workspaces, the caching allocator and the activation buffers settle.
  for (int i = 0; i < 3; ++i, ++step)
    train_step(model, opt, batches[size_t(step % bench::kBatches)], step, bench::kRunSeed);
  double tokens = 0, flops = 0, loss = 0;
  int64_t steps = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds || steps < 10) {
    const Batch& b = batches[size_t(step % bench::kBatches)];
    const ClozeStepResult r = train_step(model, opt, b, step++, bench::kRunSeed);
    tokens += double(r.tokens);
    flops += model.train_flops(b);
    loss = r.loss;
    ++steps;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const std::string name = std::string(bc.name) + (precision == "f32" ? "" : "_" + precision);
  return {name, elapsed * 1e3 / double(steps), tokens / elapsed, flops / elapsed * 1e-12, loss,
          bench::checksum(batches)};
}

}  // namespace
}  // namespace seqmend

int main(int argc, char** argv) {
  using namespace seqmend;
  if (cuda_device_count() == 0) {
    std::printf("bench_cuda_train: no usable GPU, nothing measured\n");
    return 0;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  std::vector<Line> lines;
  try {
    for (const bench::BenchConfig& c : bench::kConfigs) {
      for (const char* precision : {"f32", "bf16"}) {
        lines.push_back(bench_config(c, precision, seconds));
        const Line& l = lines.back();
        std::printf("train_step/%s on cuda: %.3f ms/step, %.0f tokens/s, %.2f TFLOP/s, loss %.4f\n",
                    l.config.c_str(), l.ms, l.tokens_per_s, l.tflops, l.loss);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_train: %s\n", e.what());
    return 1;
  }
  if (argc > 1) {
    FILE* f = std::fopen(argv[1], "w");
    if (!f) {
      std::perror(argv[1]);
      return 1;
    }
    std::fprintf(f, "config\tms_per_step\ttokens_per_s\tTFLOP_per_s\tloss\tbatch_sum\n");
    for (const Line& l : lines)
      std::fprintf(f, "%s\t%.5f\t%.1f\t%.5f\t%.6f\t%.1f\n", l.config.c_str(), l.ms, l.tokens_per_s,
                   l.tflops, l.loss, l.batch_sum);
    std::fclose(f);
  }
  return 0;
}
