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
#include "tests/support/step_compare.h"

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
    cfg.causal = causal;
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
    return cfg.causal ? make_causal_batch(views, cfg) : make_cloze_batch(views, cfg, {0.3f, 5, uint64_t(step)});
  }
};

std::vector<float> host(const Tensor& t) {
  const Tensor h = t.to(Device::CPU);
  const float* p = h.data<float>();
  return std::vector<float>(p, p + h.numel());
}

// Worst |got − want| / max(|want|, mean |want|) per parameter entry, reported with its name.
void expect_close(const ParamBuffer& pb, const std::vector<float>& got, const std::vector<float>& want,
                  double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (const ParamEntry& e : pb.entries()) {
    double mean_abs = 0.0;
    for (int64_t j = 0; j < e.numel; ++j) mean_abs += std::fabs(want[size_t(e.offset + j)]);
    mean_abs /= double(e.numel);
    double worst = 0.0;
    int64_t at = 0;
    for (int64_t j = 0; j < e.numel; ++j) {
      const size_t k = size_t(e.offset + j);
      const double ref = std::max<double>(std::fabs(want[k]), mean_abs);
      const double err = std::fabs(double(got[k]) - double(want[k])) / (ref > 0 ? ref : 1.0);
      if (!(err <= worst)) worst = std::isnan(err) ? INFINITY : err, at = j;
    }
    EXPECT_LE(worst, tol) << what << " " << e.name << "[" << at << "]: cuda "
                          << got[size_t(e.offset + at)] << " cpu " << want[size_t(e.offset + at)];
  }
}

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

// What one device produced, step by step.
struct Trace {
  std::vector<double> losses;
  std::vector<std::vector<float>> grads, params;  // after each step's backward / AdamW update
  std::vector<float> hidden;                      // hidden_at the last batch's target rows
  std::vector<float> enc_hidden, enc_grads;       // encode_hidden, then backward_from_hidden
};

Trace run(const Data& d, Device dev, int steps) {
  Bert4Rec m(d.cfg, dev);
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
    tr.grads.push_back(host(m.params().grads()));
    opt.step(s);
    tr.params.push_back(host(m.params().params()));
  }
  const Batch b = d.batch(steps);
  tr.hidden = host(m.hidden_at(b, b.target_rows));

  // The detector's path: every token's hidden state, then a gradient arriving from the heads.
  const Batch plain = make_plain_batch(d.views, d.cfg);
  tr.enc_hidden = host(m.encode_hidden(plain, true, 11));
  std::vector<float> dH(size_t(plain.N) * size_t(d.cfg.d_model));
  Rng rng(23, 1);
  for (float& x : dH) x = float(rng.uniform()) - 0.5f;
  Tensor dH_t = Tensor::empty({plain.N, d.cfg.d_model});
  std::copy(dH.begin(), dH.end(), dH_t.data<float>());
  const Tensor dH_dev = dH_t.to(dev);
  m.params().zero_grads();
  m.backward_from_hidden(plain, dH_dev.data<float>());
  tr.enc_grads = host(m.params().grads());
  return tr;
}

// (causal, precision)
class CudaModel : public ::testing::TestWithParam<std::tuple<bool, std::string>> {};

TEST_P(CudaModel, TrainingStepsMatchTheCpu) {
  const Data d(std::get<0>(GetParam()), std::get<1>(GetParam()));
  constexpr int kSteps = 3;
  const Trace cpu = run(d, Device::CPU, kSteps);
  for (double l : cpu.losses) ASSERT_TRUE(std::isfinite(l));
  if (!cuda_compiled()) GTEST_SKIP() << "this build has no CUDA backend: CPU side only";
  if (cuda_device_count() == 0)
    GTEST_SKIP() << "no usable GPU (no driver or no device): CPU side only, the CUDA model not exercised";
  const Trace gpu = run(d, Device::CUDA, kSteps);
  Bert4Rec named(d.cfg);  // for the parameter names and offsets
  // bf16: an attention output whose f32 sum lands next to a rounding boundary may round the other
  // way on the GPU (one bf16 ulp, 2^-8), so the comparison allows that much drift.
  const bool bf = d.cfg.precision == "bf16";
  const double loss_tol = bf ? 1e-3 : 1e-5, grad_tol = bf ? 2e-2 : 1e-3, value_tol = bf ? 1e-2 : 1e-4;
  for (int s = 0; s < kSteps; ++s) {
    EXPECT_NEAR(gpu.losses[size_t(s)], cpu.losses[size_t(s)], loss_tol * std::fabs(cpu.losses[size_t(s)]))
        << "loss at step " << s;
    expect_close(named.params(), gpu.grads[size_t(s)], cpu.grads[size_t(s)], grad_tol,
                 "gradient at step " + std::to_string(s));
    // In units of the step size: zero gradients hold device-specific rounding noise that AdamW
    // turns into ±lr moves (tests/support/step_compare.h; proven on the CPU in
    // tests/core/step_compare_test.cpp).
    const std::vector<std::vector<float>> grads_so_far(cpu.grads.begin(), cpu.grads.begin() + s + 1);
    EXPECT_EQ(test_support::params_after_adamw_mismatch(named.params(), gpu.params[size_t(s)], cpu.params[size_t(s)],
                                                        grads_so_far, value_tol, kLr),
              "")
        << "parameter after step " << s;
  }
  expect_close(gpu.hidden, cpu.hidden, value_tol, "hidden_at");
  expect_close(gpu.enc_hidden, cpu.enc_hidden, value_tol, "encode_hidden");
  expect_close(named.params(), gpu.enc_grads, cpu.enc_grads, grad_tol, "backward_from_hidden gradient");

  // Twice on the GPU: the same bits (every CUDA op is deterministic).
  const Trace again = run(d, Device::CUDA, kSteps);
  EXPECT_EQ(again.losses, gpu.losses);
  EXPECT_EQ(again.params.back(), gpu.params.back());
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
