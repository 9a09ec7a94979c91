// ItemScorer, the output layer outside training: logits against a double reference built from the
// named parameters, scores (the ranking form) close to the logits, and scores_at equal to the
// listed entries of scores bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/base/rng.h"
#include "core/item_scorer.h"
#include "core/model.h"

namespace seqmend {
namespace {

TEST(ItemScorer, LogitsAndScoresAreTheTiedOutputLayer) {
  ModelConfig cfg;
  cfg.num_items = 37;
  cfg.max_len = 8;
  cfg.d_model = 24;
  cfg.num_layers = 1;
  cfg.num_heads = 2;
  ItemTransformer model(cfg);
  const ItemScorer scorer(model);
  ASSERT_EQ(scorer.num_items(), 37);
  const int64_t R = 5, V = 37, C = 24;
  std::vector<float> H(static_cast<size_t>(R * C));
  Rng rng(3, 9);
  for (float& x : H) x = float(rng.uniform()) * 2.0f - 1.0f;

  std::vector<float> logits(static_cast<size_t>(R * V)), scores(static_cast<size_t>(R * V));
  scorer.logits(H.data(), R, logits.data());
  scorer.scores(H.data(), R, scores.data());
  const float* table = model.params().param_ptr("emb.item");  // row = item id
  const float* bias = model.params().param_ptr("out.bias");
  for (int64_t r = 0; r < R; ++r)
    for (int64_t j = 0; j < V; ++j) {
      double want = bias[j + 1];
      for (int64_t c = 0; c < C; ++c) want += double(H[size_t(r * C + c)]) * table[(j + 1) * C + c];
      EXPECT_NEAR(logits[size_t(r * V + j)], want, 1e-5) << "row " << r << " item " << j + 1;
      EXPECT_NEAR(scores[size_t(r * V + j)], want, 1e-5) << "row " << r << " item " << j + 1;
    }
  const std::vector<int32_t> items = {37, 1, 12, 12, 5};
  std::vector<float> at(items.size());
  for (int64_t r = 0; r < R; ++r) {
    scorer.scores_at(H.data() + r * C, items.data(), int64_t(items.size()), at.data());
    for (size_t i = 0; i < items.size(); ++i)
      EXPECT_EQ(at[i], scores[size_t(r * V + items[i] - 1)]) << "row " << r << " item " << items[i];
  }
}

}  // namespace
}  // namespace seqmend
