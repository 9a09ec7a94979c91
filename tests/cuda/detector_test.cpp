// The anomaly detector (encoder, three heads, focal losses) on the GPU against the same detector on
// the CPU: losses per head, every encoder and head gradient, and score()'s probabilities, with
// dropout on, for trained and frozen encoders. Both start from the same weights (ParamBuffer::init
// draws on the host) and see the same batch, targets and dropout keys, so they differ by rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/base/rng.h"
#include "core/detector.h"
#include "support/device_compare.h"

namespace seqmend {
namespace {

using test::expect_params_close;
using test::host;

struct Case {
  ModelConfig mc;
  DetectorConfig dc;
  std::vector<std::vector<int32_t>> items;
  std::vector<std::vector<int64_t>> times;
  std::vector<SequenceView> views;
  Batch b;
  DetectorTargets y;

  explicit Case(bool freeze) {
    mc.num_items = 400;
    mc.max_len = 40;
    mc.d_model = 32;
    mc.num_layers = 2;
    mc.num_heads = 2;
    mc.emb_dropout = mc.hidden_dropout = mc.attn_dropout = 0.1f;
    dc.heads.hidden = 16;
    dc.freeze_encoder = freeze;
    Rng rng(29, 5);
    for (int s = 0; s < 20; ++s) {  // lengths 1 to past max_len (cropped)
      const int len = 1 + int(rng.below(50));
      items.emplace_back();
      times.emplace_back();
      int64_t t = 5'000'000;
      for (int i = 0; i < len; ++i) {
        items.back().push_back(int32_t(1 + rng.below(uint64_t(mc.num_items))));
        t += int64_t(rng.below(50'000));
        times.back().push_back(t);
      }
    }
    for (size_t s = 0; s < items.size(); ++s) views.push_back({items[s], times[s], {}, int64_t(s)});
    b = make_plain_batch(views, mc);
    // About one positive in six per head, some elements left out (weight 0), as real targets are.
    auto draw = [&](int64_t n, std::vector<float>& yv, std::vector<float>& wv) {
      for (int64_t i = 0; i < n; ++i) {
        yv.push_back(rng.below(6) == 0 ? 1.0f : 0.0f);
        wv.push_back(rng.below(10) == 0 ? 0.0f : 1.0f);
      }
    };
    draw(b.N, y.event_y, y.event_w);
    draw(b.N, y.gap_y, y.gap_w);
    draw(b.B, y.seq_y, y.seq_w);
  }
};

class CudaDetector : public ::testing::TestWithParam<bool> {};

TEST_P(CudaDetector, LossesGradientsAndScoresMatchTheCpu) {
  const Case c(GetParam());
  Detector cpu(c.mc, c.dc);
  DetectorForward fw;
  fw.dropout_seed = 77;
  if (!cuda_compiled() || cuda_device_count() == 0) {
    ASSERT_TRUE(std::isfinite(cpu.forward(c.b, c.y, fw).total));
    GTEST_SKIP() << (cuda_compiled() ? "no usable GPU (no driver or no device): CPU side only, the CUDA detector not exercised"
                                     : "this build has no CUDA backend: CPU side only");
  }
  Detector gpu(c.mc, c.dc, Device::CUDA);
  ASSERT_EQ(host(gpu.encoder().params().params()), host(cpu.encoder().params().params()));
  ASSERT_EQ(host(gpu.heads().params().params()), host(cpu.heads().params().params()));
  for (Detector* d : {&cpu, &gpu}) {
    d->encoder().params().zero_grads();
    d->heads().params().zero_grads();
  }
  const DetectorLoss lc = cpu.forward(c.b, c.y, fw), lg = gpu.forward(c.b, c.y, fw);
  EXPECT_NEAR(lg.event, lc.event, 1e-5 * lc.event);
  EXPECT_NEAR(lg.gap, lc.gap, 1e-5 * lc.gap);
  EXPECT_NEAR(lg.sequence, lc.sequence, 1e-5 * lc.sequence);
  EXPECT_NEAR(lg.total, lc.total, 1e-5 * lc.total);
  cpu.backward(c.b);
  gpu.backward(c.b);
  expect_params_close(cpu.heads().params(), host(gpu.heads().params().grads()), host(cpu.heads().params().grads()), 1e-3,
               "head gradient");
  const std::vector<float> enc_g = host(gpu.encoder().params().grads());
  if (c.dc.freeze_encoder) {
    EXPECT_TRUE(std::all_of(enc_g.begin(), enc_g.end(), [](float g) { return g == 0.0f; }))
        << "a frozen encoder got gradients on the GPU";
  } else {
    expect_params_close(cpu.encoder().params(), enc_g, host(cpu.encoder().params().grads()), 1e-3, "encoder gradient");
  }
  // Scoring: probabilities on the host, without dropout.
  const size_t N = size_t(c.b.N), B = size_t(c.b.B);
  std::vector<float> ec(N), gc(N), sc(B), eg(N), gg(N), sg(B);
  cpu.score(c.b, ec.data(), gc.data(), sc.data());
  gpu.score(c.b, eg.data(), gg.data(), sg.data());
  for (size_t i = 0; i < N; ++i) {
    ASSERT_NEAR(eg[i], ec[i], 1e-5) << "event probability " << i;
    ASSERT_NEAR(gg[i], gc[i], 1e-5) << "gap probability " << i;
  }
  for (size_t s = 0; s < B; ++s) ASSERT_NEAR(sg[s], sc[s], 1e-5) << "sequence probability " << s;
}

INSTANTIATE_TEST_SUITE_P(Encoder, CudaDetector, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? std::string("Frozen") : std::string("Trained"); });

}  // namespace
}  // namespace seqmend
