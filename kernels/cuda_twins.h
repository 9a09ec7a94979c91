// The CUDA twins of the ops, one per <op>.cu, each with its op's signature minus the Device. The
// CPU files reach them through SEQ_CUDA_TWIN (kernels/dispatch.h), so an op keeps one declaration
// in its own header. Pointers are device pointers, except AttentionShape::cu_seqlens (host).
#pragma once

#include <cstdint>

#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/dropout.h"
#include "kernels/focal_loss.h"
#include "kernels/matmul.h"
#include "kernels/softmax_xent.h"

namespace seqmend {

void adamw_update_cuda(float* param, const float* grad, float* m, float* v, int64_t n,
                       const AdamWArgs& a);

void attention_forward_cuda(float* out, float* lse, const float* qkv, const AttentionShape& s,
                            const DropoutSpec& drop, const uint64_t* token_keys);
void attention_backward_cuda(float* dqkv, const float* dout, const float* qkv, const float* out,
                             const float* lse, const AttentionShape& s, const DropoutSpec& drop,
                             const uint64_t* token_keys);
bool cudnn_attention_available_cuda(std::string* why);
// AttentionBackend::cudnn (kernels/attention_cudnn.cu), reached from the bf16 twins below.
void attention_forward_cudnn(bf16* out, float* lse, const bf16* qkv, const AttentionShape& s,
                             const DropoutSpec& drop);
void attention_backward_cudnn(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                              const float* lse, const AttentionShape& s, const DropoutSpec& drop);
void attention_forward_cuda(bf16* out, float* lse, const bf16* qkv, const AttentionShape& s,
                            const DropoutSpec& drop, const uint64_t* token_keys);
void attention_backward_cuda(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                             const float* lse, const AttentionShape& s, const DropoutSpec& drop,
                             const uint64_t* token_keys);

void cast_to_bf16_cuda(bf16* dst, const float* src, int64_t n);
void cast_to_f32_cuda(float* dst, const bf16* src, int64_t n);
void add_bf16_cuda(float* dst, const bf16* src, int64_t n);

void dropout_forward_cuda(float* out, const float* inp, const uint64_t* token_keys, int64_t N,
                          int C, const DropoutSpec& d);
void dropout_backward_cuda(float* dinp, const float* dout, const uint64_t* token_keys, int64_t N,
                           int C, const DropoutSpec& d);

void add_inplace_cuda(float* out, const float* inp, int64_t n);
void scale_inplace_cuda(float* x, int64_t n, float s);
void fill_cuda(float* x, int64_t n, float value);
double sum_squares_cuda(const float* x, int64_t n);
double clip_global_norm_cuda(float* x, int64_t n, double max_norm);

void embedding_forward_cuda(float* out, const int32_t* ids, const float* table, int64_t N, int C,
                            int64_t V, bool accumulate, const char* name);
void embedding_backward_cuda(float* dtable, const float* dout, const int32_t* ids, int64_t N,
                             int C, int64_t V);

double sigmoid_focal_loss_cuda(const FocalArgs& a, float* dlogits, float scale);

void segment_mean_forward_cuda(float* out, const float* inp, const int64_t* cu, int64_t B, int C);
void segment_mean_backward_cuda(float* dinp, const float* dout, const int64_t* cu, int64_t B, int C);

void gather_rows_cuda(float* dst, const float* src, const int64_t* rows, int64_t R, int C,
                      int64_t N);
void scatter_rows_cuda(float* dst, const float* src, const int64_t* rows, int64_t R, int C,
                       int64_t N);

void gelu_forward_cuda(float* out, const float* inp, int64_t n);
void gelu_forward_cuda(bf16* out, const float* inp, int64_t n);
void gelu_backward_cuda(float* dinp, const float* inp, const float* dout, int64_t n);

void layernorm_forward_cuda(float* out, float* mean, float* rstd, const float* inp,
                            const float* weight, const float* bias, int64_t N, int C, float eps);
void layernorm_forward_cuda(bf16* out, float* mean, float* rstd, const float* inp,
                            const float* weight, const float* bias, int64_t N, int C, float eps);
void layernorm_backward_cuda(float* dinp, float* dweight, float* dbias, const float* dout,
                             const float* inp, const float* weight, const float* mean,
                             const float* rstd, int64_t N, int C);

void matmul_forward_cuda(float* out, const float* inp, const float* weight, const float* bias,
                         int64_t N, int C, int OC, MatmulPrecision prec);
void matmul_backward_cuda(float* dinp, float* dweight, float* dbias, const float* dout,
                          const float* inp, const float* weight, int64_t N, int C, int OC,
                          MatmulPrecision prec);
void matmul_forward_cuda(float* out, const bf16* inp, const bf16* weight, const float* bias, int64_t N,
                         int C, int OC, bf16* out16);
void matmul_backward_cuda(float* dinp, float* dweight, float* dbias, const float* dout, const bf16* inp,
                          const bf16* weight, int64_t N, int C, int OC);
void matmul_backward_cuda(float* dinp, float* dweight, float* dbias, const bf16* dout, const bf16* inp,
                          const bf16* weight, int64_t N, int C, int OC);

double softmax_xent_cuda(const XentArgs& a, const XentGrads& g);

}  // namespace seqmend
