// In a CUDA build, Device::CUDA reaches each op's CUDA twin. On a machine without a GPU the twin
// must refuse with an Error that names the op (never crash, never run on the host by mistake).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/device.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/focal_loss.h"
#include "kernels/gather_rows.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/softmax_xent.h"

namespace seqmend {

TEST(CudaDispatch, EveryOpWithoutGpuNamesTheOp) {
  ASSERT_TRUE(cuda_compiled());
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: covered by OpsTable instead";
  float f[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  int32_t ids[2] = {0, 1};
  uint64_t keys[2] = {1, 2};
  int64_t cu[2] = {0, 2};
  int64_t rows[1] = {0};
  bf16 h[8] = {};
  AttentionShape s;
  s.B = 1;
  s.NH = 1;
  s.HS = 1;
  s.cu_seqlens = cu;
  AttentionShape sc = s;  // cuDNN's backend: head sizes must be multiples of 8
  sc.HS = 8;
  sc.backend = AttentionBackend::cudnn;
  const Device D = Device::CUDA;
  const std::vector<std::pair<std::string, std::function<void()>>> calls = {
      {"matmul_forward", [&] { matmul_forward(D, f, f, f, f, 1, 1, 1); }},
      {"matmul_backward", [&] { matmul_backward(D, f, f, f, f, f, f, 1, 1, 1); }},
      {"layernorm_forward", [&] { layernorm_forward(D, f, f, f, f, f, f, 1, 1, 1e-5f); }},
      {"layernorm_backward", [&] { layernorm_backward(D, f, f, f, f, f, f, f, f, 1, 1); }},
      {"gelu_forward", [&] { gelu_forward(D, f, f, 1); }},
      {"gelu_backward", [&] { gelu_backward(D, f, f, f, 1); }},
      {"token_embedding", [&] { embedding_forward(D, f, ids, f, 2, 1, 2, false, "token_embedding"); }},
      {"embedding_backward", [&] { embedding_backward(D, f, f, ids, 2, 1, 2); }},
      {"dropout_forward", [&] { dropout_forward(D, f, f, keys, 2, 1, {0.5f, 1}); }},
      {"dropout_backward", [&] { dropout_backward(D, f, f, keys, 2, 1, {0.5f, 1}); }},
      {"add_inplace", [&] { add_inplace(D, f, f, 1); }},
      {"scale_inplace", [&] { scale_inplace(D, f, 1, 2.0f); }},
      {"fill", [&] { fill(D, f, 1, 0.0f); }},
      {"sum_squares", [&] { (void)sum_squares(D, f, 1); }},
      {"clip_global_norm", [&] { (void)clip_global_norm(D, f, 1, 1.0); }},
      {"adamw_update", [&] { adamw_update(D, f, f, f, f, 1, AdamWArgs{}); }},
      {"sigmoid_focal_loss", [&] {
         FocalArgs a;
         a.logits = f;
         a.targets = f;
         a.n = 1;
         (void)sigmoid_focal_loss(D, a);
       }},
      {"softmax_xent", [&] {
         XentArgs a;
         a.hidden = a.table = a.bias = f;
         a.targets = ids;
         a.M = 1;
         a.C = 1;
         a.V = 1;
         (void)softmax_xent(D, a);
       }},
      {"attention_forward", [&] { attention_forward(D, f, f, f, s, {}, keys); }},
      {"attention_backward", [&] { attention_backward(D, f, f, f, f, f, s, {}, keys); }},
      {"attention_forward", [&] { attention_forward(D, h, f, h, s, {}, keys); }},
      {"attention_backward", [&] { attention_backward(D, h, h, h, h, f, s, {}, keys); }},
      {"attention_forward", [&] { attention_forward(D, h, f, h, sc, {}, keys); }},
      {"attention_backward", [&] { attention_backward(D, h, h, h, h, f, sc, {}, keys); }},
      {"gather_rows", [&] { gather_rows(D, f, f, rows, 1, 1, 2); }},
      {"scatter_rows", [&] { scatter_rows(D, f, f, rows, 1, 1, 2); }},
  };
  for (const auto& [op, call] : calls) {
    try {
      call();
      ADD_FAILURE() << op << ": Device::CUDA without a GPU did not throw";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(op), std::string::npos) << msg;
      EXPECT_NE(msg.find("no usable GPU"), std::string::npos) << msg;
    }
  }
}

TEST(CudaDispatch, CudnnAttentionTakesBf16AndSaysWhenItCannotRun) {
  ASSERT_TRUE(cuda_compiled());
  float f[48] = {};
  int64_t cu[2] = {0, 2};
  AttentionShape s;
  s.B = 1;
  s.NH = 1;
  s.HS = 8;
  s.cu_seqlens = cu;
  s.backend = AttentionBackend::cudnn;
  try {
    attention_forward(Device::CUDA, f, f, f, s, {}, nullptr);
    ADD_FAILURE() << "f32 activations on the cudnn backend did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
  std::string why;
  const bool ok = cudnn_attention_available(&why);
  if (cuda_device_count() == 0) {
    EXPECT_FALSE(ok);
  }
  if (!ok) {
    EXPECT_FALSE(why.empty());
  }
  if (ok) {
    EXPECT_TRUE(why.empty()) << why;
  }
}

}  // namespace seqmend
