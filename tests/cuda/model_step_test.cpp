// The whole model on the GPU against the same model on the CPU: one training step at a time
// (loss, every parameter's gradient, the parameters after AdamW), the evaluation path (hidden_at)
// and the detector path (encode_hidden / backward_from_hidden), for the cloze and the causal
// encoder, with dropout on. Both runs start from the same weights (ParamBuffer::init draws on the
// host), see the same batches and dropout keys, so they differ only by float rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "core/adamw_optimizer.h"
#include "core/base/rng.h"
#include "core/model.h"
#include "core/train_step.h"
#include "support/device_compare.h"

namespace seqmend {
namespace {

constexpr double kLr = 3e-3;

struct Data {
  ModelConfig cfg;
  std::vector<std::vector<int32_t>> items;
  std::vector<std::vector<int64_t>> times;
  std::vector<std::vector<int8_t>> actions;
  std::vector<SequenceView> views;

  Data(bool causal, const std::string& precision) {
    cfg.num_items = 500;
    cfg.max_len = 40;
    cfg.d_model = 64;
    cfg.num_layers = 2;
    cfg.num_heads = 2;
    cfg.objective = causal ? "causal" : "cloze";
    cfg.precision = precision;
    cfg.emb_dropout = cfg.hidden_dropout = cfg.attn_dropout = 0.1f;
    Rng rng(17, 3);
    // Lengths from 1 to past max_len (cropped), odd ones included; every sequence has times and actions.
    for (int s = 0; s < 24; ++s) {
      const int len = 1 + int(rng.below(55));
      items.emplace_back();
      times.emplace_back();
      actions.emplace_back();
      int64_t t = 1'000'000;
      for (int i = 0; i < len; ++i) {
        items.back().push_back(int32_t(1 + rng.below(uint64_t(cfg.num_items))));
        t += int64_t(rng.below(100'000));
        times.back().push_back(t);
        actions.back().push_back(int8_t(rng.below(4)));
      }
    }
    for (size_t s = 0; s < items.size(); ++s)
      views.push_back({items[s], times[s], actions[s], int64_t(s)});
  }

  Batch batch(int step) const {
    return cfg.causal() ? make_causal_batch(views, cfg) : make_cloze_batch(views, cfg, {0.3f, 5, uint64_t(step)});
  }
};

using test::expect_params_close;
using test::host;

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double tol,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double mean_abs = 0.0;
  for (float x : want) mean_abs += std::fabs(x);
  mean_abs /= double(std::max<size_t>(1, want.size()));
  for (size_t i = 0; i < want.size(); ++i) {
    const double ref = std::max<double>(std::fabs(want[i]), mean_abs);
    ASSERT_LE(std::fabs(double(got[i]) - double(want[i])), tol * ref)
        << what << "[" << i << "]: cuda " << got[i] << " cpu " << want[i];
  }
}

// What one device produced, step by step (the determinism check runs the GPU alone).
struct Trace {
  std::vector<double> losses;
  std::vector<float> params;  // after the last AdamW update
};

Trace run_alone(const Data& d, Device dev, int steps) {
  ItemTransformer m(d.cfg, dev);
  OptimizerConfig oc;
  oc.lr = kLr;
  oc.clip_norm = 1.0;
  AdamWOptimizer opt(m.params(), oc);
  Trace tr;
  for (int s = 0; s < steps; ++s) {
    const Batch b = d.batch(s);
    m.params().zero_grads();
    ForwardOptions fo;
    fo.dropout_seed = step_dropout_seed(7, s);
    tr.losses.push_back(m.forward(b, fo));
    m.backward(b);
    opt.step(s);
  }
  tr.params = host(m.params().params());
  return tr;
}

void copy_into(Tensor& dst, const Tensor& src) {
  ASSERT_EQ(dst.numel(), src.numel());
  copy_bytes(dst.data<float>(), dst.device(), src.data<float>(), src.device(), src.nbytes());
}

// A model and its optimizer on one device.
struct Stepper {
  ItemTransformer m;
  AdamWOptimizer opt;
  Stepper(const ModelConfig& cfg, Device dev) : m(cfg, dev), opt(m.params(), optimizer()) {
    m.params().adam_m();  // allocated now, so the state can be copied in before the first step
    m.params().adam_v();
  }
  static OptimizerConfig optimizer() {
    OptimizerConfig oc;
    oc.lr = kLr;
    oc.clip_norm = 1.0;
    return oc;
  }
  // Parameters and AdamW moments from another model of the same config.
  void take_state(Stepper& from) {
    copy_into(m.params().params(), from.m.params().params());
    copy_into(m.params().adam_m(), from.m.params().adam_m());
    copy_into(m.params().adam_v(), from.m.params().adam_v());
  }
  double forward_backward(const Batch& b, int step) {
    m.params().zero_grads();
    ForwardOptions fo;
    fo.dropout_seed = step_dropout_seed(7, step);
    const double loss = m.forward(b, fo);
    m.backward(b);
    return loss;
  }
};

// (causal, precision)
class CudaModel : public ::testing::TestWithParam<std::tuple<bool, std::string>> {};

// The GPU and the CPU step in lockstep, and before every step the GPU takes the CPU's parameters
// and AdamW moments: each comparison covers one step's rounding, not the drift of the steps before
// (AdamW turns rounding noise in near-zero gradients into ±lr moves, which change every later
// forward pass — bf16's one-ulp flips in attention outputs make that drift large). The GPU's AdamW
// update is checked against the CPU's AdamW replayed on the GPU's own gradients from the same state,
// so it is compared at float rounding whatever the gradients' precision.
TEST_P(CudaModel, TrainingStepsMatchTheCpu) {
  const Data d(std::get<0>(GetParam()), std::get<1>(GetParam()));
  constexpr int kSteps = 3;
  if (!cuda_compiled() || cuda_device_count() == 0) {
    const Trace cpu = run_alone(d, Device::CPU, kSteps);
    for (double l : cpu.losses) ASSERT_TRUE(std::isfinite(l));
    GTEST_SKIP() << (cuda_compiled() ? "no usable GPU (no driver or no device): CPU side only, the CUDA model not exercised"
                                     : "this build has no CUDA backend: CPU side only");
  }
  Stepper cpu(d.cfg, Device::CPU), gpu(d.cfg, Device::CUDA), replay(d.cfg, Device::CPU);
  ItemTransformer named(d.cfg);  // for the parameter names and offsets
  // bf16: an attention output whose f32 sum lands next to a rounding boundary may round the other
  // way on the GPU (one bf16 ulp, 2^-8), so the comparison allows that much drift.
  const bool bf = d.cfg.precision == "bf16";
  const double loss_tol = bf ? 1e-3 : 1e-5, grad_tol = bf ? 2e-2 : 1e-3, value_tol = bf ? 1e-2 : 1e-4;
  for (int s = 0; s < kSteps; ++s) {
    gpu.take_state(cpu);
    replay.take_state(cpu);
    const Batch b = d.batch(s);
    const double loss_cpu = cpu.forward_backward(b, s), loss_gpu = gpu.forward_backward(b, s);
    ASSERT_TRUE(std::isfinite(loss_cpu));
    EXPECT_NEAR(loss_gpu, loss_cpu, loss_tol * std::fabs(loss_cpu)) << "loss at step " << s;
    const std::vector<float> grads_gpu = host(gpu.m.params().grads());
    expect_params_close(named.params(), grads_gpu, host(cpu.m.params().grads()), grad_tol,
                 "gradient at step " + std::to_string(s));
    copy_into(replay.m.params().grads(), gpu.m.params().grads());
    cpu.opt.step(s);
    gpu.opt.step(s);
    replay.opt.step(s);
    // Elementwise float arithmetic on both sides (the clip factor comes from a sum of squares in
    // another order, which moves a normalised step by ~1e-7·lr): 1e-6 of the scale plus 1e-5·lr.
    const std::vector<float> got = host(gpu.m.params().params()), want = host(replay.m.params().params());
    for (const ParamEntry& e : named.params().entries()) {
      double mean_abs = 0.0;
      for (int64_t j = 0; j < e.numel; ++j) mean_abs += std::fabs(want[size_t(e.offset + j)]);
      mean_abs /= double(e.numel);
      for (int64_t j = 0; j < e.numel; ++j) {
        const size_t k = size_t(e.offset + j);
        const double ref = std::max<double>(std::fabs(want[k]), mean_abs);
        ASSERT_LE(std::fabs(double(got[k]) - double(want[k])), 1e-6 * ref + 1e-5 * kLr)
            << "AdamW at step " << s << " " << e.name << "[" << j << "]: cuda " << got[k]
            << ", the CPU's AdamW on the same gradients " << want[k];
      }
    }
  }

  // Evaluation and the detector's path from the CPU's final parameters: hidden_at the next batch's
  // targets, every token's hidden state, then a gradient arriving from the heads.
  gpu.take_state(cpu);
  const Batch b = d.batch(kSteps);
  expect_close(host(gpu.m.hidden_at(b, b.target_rows)), host(cpu.m.hidden_at(b, b.target_rows)), value_tol,
               "hidden_at");
  const Batch plain = make_plain_batch(d.views, d.cfg);
  expect_close(host(gpu.m.encode_hidden(plain, true, 11)), host(cpu.m.encode_hidden(plain, true, 11)),
               value_tol, "encode_hidden");
  std::vector<float> dH(size_t(plain.N) * size_t(d.cfg.d_model));
  Rng rng(23, 1);
  for (float& x : dH) x = float(rng.uniform()) - 0.5f;
  Tensor dH_t = Tensor::empty({plain.N, d.cfg.d_model});
  std::copy(dH.begin(), dH.end(), dH_t.data<float>());
  const Tensor dH_dev = dH_t.to(Device::CUDA);
  for (Stepper* st : {&cpu, &gpu}) {
    st->m.params().zero_grads();
    st->m.backward_from_hidden(plain, (st == &cpu ? dH_t : dH_dev).data<float>());
  }
  expect_params_close(named.params(), host(gpu.m.params().grads()), host(cpu.m.params().grads()), grad_tol,
               "backward_from_hidden gradient");

  // Twice on the GPU alone: the same bits (every CUDA op is deterministic).
  const Trace once = run_alone(d, Device::CUDA, kSteps), again = run_alone(d, Device::CUDA, kSteps);
  EXPECT_EQ(again.losses, once.losses);
  EXPECT_EQ(again.params, once.params);
}

// bf16: both devices multiply the same bf16-rounded inputs, so the f32 tolerances hold for the
// GEMMs; attention outputs are rounded to bf16 after f32 sums that may differ in order, which the
// gradient tolerance (1e-3 of the scale) covers.
INSTANTIATE_TEST_SUITE_P(Encoders, CudaModel,
                         ::testing::Combine(::testing::Values(false, true), ::testing::Values("f32", "bf16")),
                         [](const ::testing::TestParamInfo<std::tuple<bool, std::string>>& i) {
                           return std::string(std::get<0>(i.param) ? "Causal" : "Cloze") + "_" +
                                  std::get<1>(i.param);
                         });

}  // namespace
}  // namespace seqmend
