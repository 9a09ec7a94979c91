// The rule tests/cuda/model_step_test.cpp compares GPU and CPU parameters after AdamW with
// (tests/support/step_compare.h), shown on the CPU alone: a run whose gradients carry rounding-size
// noise (what FMA and another summation order produce) passes, although that noise flips the sign
// of the mathematically zero key-bias gradients and moves those elements by ±lr; a run with a real
// error in one gradient fails.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/adamw_optimizer.h"
#include "core/base/rng.h"
#include "core/batch.h"
#include "core/model.h"
#include "core/train_step.h"
#include "tests/support/step_compare.h"

namespace seqmend {
namespace {

struct Steps {
  std::vector<std::vector<float>> grads, params;
};

std::vector<float> flat(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

ModelConfig small_model() {
  ModelConfig cfg;
  cfg.num_items = 200;
  cfg.max_len = 24;
  cfg.d_model = 32;
  cfg.num_layers = 1;
  cfg.num_heads = 2;
  return cfg;
}

// Three AdamW steps of small_model() in cloze mode; `tamper(grads)` edits the gradients before each update.
Steps three_steps(const std::function<void(ParamBuffer&, Rng&)>& tamper) {
  const ModelConfig cfg = small_model();
  std::vector<std::vector<int32_t>> items;
  std::vector<SequenceView> views;
  Rng rng(5, 1);
  for (int s = 0; s < 16; ++s) {
    items.emplace_back();
    for (int i = 0; i < 6 + int(rng.below(18)); ++i) items.back().push_back(int32_t(1 + rng.below(200)));
  }
  for (size_t s = 0; s < items.size(); ++s) views.push_back({items[s], {}, {}, int64_t(s)});
  Bert4Rec m(cfg);
  OptimizerConfig oc;
  oc.lr = 3e-3;
  oc.clip_norm = 1.0;
  AdamWOptimizer opt(m.params(), oc);
  Steps r;
  Rng noise(9, 2);
  for (int s = 0; s < 3; ++s) {
    const Batch b = make_cloze_batch(views, cfg, {0.3f, 5, uint64_t(s)});
    m.params().zero_grads();
    ForwardOptions fo;
    fo.dropout_seed = step_dropout_seed(7, s);
    m.forward(b, fo);
    m.backward(b);
    tamper(m.params(), noise);
    r.grads.push_back(flat(m.params().grads()));
    opt.step(s);
    r.params.push_back(flat(m.params().params()));
  }
  return r;
}

// Adds ±`scale` × the tensor's mean |g| to every gradient element of the tensors `which` selects.
void perturb(ParamBuffer& pb, Rng& rng, double scale, const std::function<bool(const std::string&)>& which) {
  float* g = pb.grads().data<float>();
  for (const ParamEntry& e : pb.entries()) {
    if (!which(e.name)) continue;
    double mean = 0;
    for (int64_t j = 0; j < e.numel; ++j) mean += std::fabs(g[e.offset + j]);
    mean /= double(e.numel);
    for (int64_t j = 0; j < e.numel; ++j) g[e.offset + j] += float((rng.uniform() < 0.5 ? -1 : 1) * scale * mean);
  }
}

TEST(StepCompare, RoundingNoisePassesAndARealErrorFails) {
  const Steps ref = three_steps([](ParamBuffer&, Rng&) {});
  const ModelConfig cfg = small_model();
  Bert4Rec named(cfg);
  auto mismatch = [&](const Steps& got, int s) {
    const std::vector<std::vector<float>> grads(ref.grads.begin(), ref.grads.begin() + s + 1);
    return test_support::params_after_adamw_mismatch(named.params(), got.params[size_t(s)], ref.params[size_t(s)],
                                                     grads, 1e-4, 3e-3);
  };
  // Noise of a few float ulps of the gradients' scale on every element.
  const Steps noisy = three_steps([](ParamBuffer& pb, Rng& rng) { perturb(pb, rng, 1e-6, [](const std::string&) { return true; }); });
  // The key-bias elements' gradients really are noise here: the rule is needed, not idle.
  bool flipped = false;
  for (const ParamEntry& e : named.params().entries())
    if (e.name.find("qkv.b") != std::string::npos)
      for (int64_t j = cfg.d_model; j < 2 * cfg.d_model; ++j)  // the key third
        flipped |= std::signbit(noisy.grads[0][size_t(e.offset + j)]) != std::signbit(ref.grads[0][size_t(e.offset + j)]);
  EXPECT_TRUE(flipped) << "no zero-gradient element changed sign: the perturbation shows nothing";
  for (int s = 0; s < 3; ++s) EXPECT_EQ(mismatch(noisy, s), "") << "step " << s;
  // A real error: one LayerNorm weight's gradient off by a tenth of its mean magnitude.
  const Steps buggy = three_steps([](ParamBuffer& pb, Rng& rng) {
    perturb(pb, rng, 0.1, [](const std::string& n) { return n.find("ln1.w") != std::string::npos; });
  });
  EXPECT_NE(mismatch(buggy, 0), "");
  EXPECT_NE(mismatch(buggy, 2).find("ln1.w"), std::string::npos) << mismatch(buggy, 2);
}

}  // namespace
}  // namespace seqmend
