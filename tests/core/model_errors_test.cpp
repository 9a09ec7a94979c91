// Failures a caller can cause must be seqmend::Errors that name the op and the offending value.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/model.h"
#include "core/train_step.h"
#include "tests/support/error_of.h"

namespace seqmend {
namespace {

#define EXPECT_MESSAGE_HAS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << (msg)

struct Small {
  ModelConfig cfg;
  std::vector<int32_t> s1{1, 2, 3, 4}, s2{5, 6};
  Small() {
    cfg.num_items = 9;
    cfg.max_len = 5;
    cfg.d_model = 8;
    cfg.num_heads = 2;
  }
  Batch batch() const { return make_cloze_batch({{s1, {}, {}, 0}, {s2, {}, {}, 1}}, cfg, {0.5f, 1, 0}); }
};

TEST(ModelErrors, BadConfigNamesTheField) {
  Small s;
  s.cfg.num_heads = 3;
  EXPECT_MESSAGE_HAS(test::error_of([&] { ItemTransformer m(s.cfg); }), "num_heads 3");
  s.cfg.num_heads = 2;
  s.cfg.attn_dropout = 1.5f;
  EXPECT_MESSAGE_HAS(test::error_of([&] { ItemTransformer m(s.cfg); }), "1.5");
}

TEST(ModelErrors, OutOfRangeIdsNameTheTokenAndValue) {
  Small s;
  ItemTransformer m(s.cfg);
  Batch b = s.batch();
  b.item[1] = 42;
  std::string msg = test::error_of([&] { m.forward(b, {}); });
  EXPECT_MESSAGE_HAS(msg, "ItemTransformer forward");
  EXPECT_MESSAGE_HAS(msg, "token 1 has item id 42");
  b = s.batch();
  b.position[0] = 5;
  EXPECT_MESSAGE_HAS(test::error_of([&] { m.forward(b, {}); }), "position 5");
  b = s.batch();
  b.target_items[0] = 10;  // V + 1 is the mask token, never a target
  EXPECT_MESSAGE_HAS(test::error_of([&] { m.forward(b, {}); }), "item id 10");
}

TEST(ModelErrors, WrongShapesNameWhatDisagrees) {
  Small s;
  ItemTransformer m(s.cfg);
  Batch b = s.batch();
  b.gap.pop_back();
  EXPECT_MESSAGE_HAS(test::error_of([&] { m.forward(b, {}); }), "expected N=6");
  b = s.batch();
  EXPECT_MESSAGE_HAS(test::error_of([&] { m.hidden_at(b, {0, 6}); }), "asks for token 6");
  EXPECT_MESSAGE_HAS(test::error_of([&] { m.backward(b); }), "preceding forward");
  Batch none = make_plain_batch({{s.s1, {}, {}, 0}}, s.cfg);
  EXPECT_MESSAGE_HAS(test::error_of([&] { m.forward(none, {}); }), "no target rows");
  m.params().param("block0.qkv.w").expect_shape("test", "qkv.w", {24, 8});
  EXPECT_MESSAGE_HAS(test::error_of([&] { m.params().param("block0.qkv.w").expect_shape("load", "block0.qkv.w", {8, 24}); }),
                     "block0.qkv.w has shape [24, 8], expected [8, 24]");
}

TEST(ModelErrors, NonFiniteLossNamesTheFirstBadActivation) {
  Small s;
  {
    ItemTransformer m(s.cfg);
    m.params().param_ptr("block1.fc.w")[3] = std::numeric_limits<float>::quiet_NaN();
    std::string msg = test::error_of([&] { m.forward(s.batch(), {}); });
    EXPECT_MESSAGE_HAS(msg, "non-finite loss");
    EXPECT_MESSAGE_HAS(msg, "block1.fc (row 0");
    EXPECT_MESSAGE_HAS(msg, "nan");
  }
  {
    ItemTransformer m(s.cfg);
    m.params().param_ptr("emb.item")[1 * 8 + 2] = std::numeric_limits<float>::infinity();
    std::string msg = test::error_of([&] { m.forward(s.batch(), {}); });
    EXPECT_MESSAGE_HAS(msg, "embedding.sum (row 0, column 2) = inf");
  }
  {
    // A huge output bias overflows only the output layer.
    ItemTransformer m(s.cfg);
    m.params().param_ptr("out.bias")[3] = std::numeric_limits<float>::infinity();
    std::string msg = test::error_of([&] { m.forward(s.batch(), {}); });
    EXPECT_MESSAGE_HAS(msg, "softmax_xent");
  }
}

}  // namespace
}  // namespace seqmend
