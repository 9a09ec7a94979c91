// The data-parallel trainer overlaps the gradient all-reduce with backward through this hook: it
// must fire once per finished group of parameters, newest layers first, ending with every entry.
#include <gtest/gtest.h>

#include <cstring>

#include "core/model.h"

namespace seqmend {
namespace {

TEST(GradReadyHook, FiresFromTheOutputDownToTheEmbedding) {
  ModelConfig cfg;
  cfg.num_items = 20;
  cfg.max_len = 8;
  cfg.d_model = 8;
  cfg.num_layers = 3;
  cfg.num_heads = 2;
  ItemTransformer m(cfg);
  std::vector<std::vector<int32_t>> seqs = {{1, 2, 3, 4, 5}, {6, 7, 8}};
  std::vector<SequenceView> views;
  for (size_t s = 0; s < seqs.size(); ++s) views.push_back({seqs[s], {}, {}, int64_t(s)});
  Batch b = make_cloze_batch(views, cfg, {0.5f, 1, 3});
  ASSERT_GT(b.M(), 0);

  std::vector<size_t> calls;
  std::vector<float> grad_at_call;  // the first gradient element of each ready range, when reported
  const size_t entries = m.params().entries().size();
  m.set_grad_ready_hook([&](size_t first) {
    calls.push_back(first);
    const auto& e = m.params().entries()[first];
    grad_at_call.push_back(m.params().grads().data<float>()[e.offset]);
  });
  m.params().zero_grads();
  ForwardOptions fo;
  fo.dropout_seed = 5;
  m.forward(b, fo);
  m.backward(b);

  // final LayerNorm, one call per block (last block first), then the embeddings at entry 0.
  ASSERT_EQ(calls.size(), size_t(cfg.num_layers) + 2);
  for (size_t i = 1; i < calls.size(); ++i) EXPECT_LT(calls[i], calls[i - 1]) << "call " << i;
  EXPECT_EQ(calls.back(), 0u);
  EXPECT_LT(calls.front(), entries);
  // What was reported ready must not change afterwards.
  for (size_t i = 0; i < calls.size(); ++i) {
    const auto& e = m.params().entries()[calls[i]];
    EXPECT_EQ(grad_at_call[i], m.params().grads().data<float>()[e.offset]) << "entry " << calls[i];
  }
}

}  // namespace
}  // namespace seqmend
