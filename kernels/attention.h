// Multi-head self-attention over packed variable-length sequences (no FLOPs on padding).
//
// Layout: the N valid tokens of B sequences are packed back to back; sequence b owns tokens
// [cu_seqlens[b], cu_seqlens[b+1]). The key-padding mask is exactly this: a token attends only to
// the tokens of its own sequence. A sequence of length 0 contributes nothing (and never NaN).
// qkv (N, 3C) holds [q | k | v] per token; head h uses columns h·HS .. h·HS+HS−1 of each part.
// out (N, C) is the concatenation of the heads (before the output projection).
// lse (N, NH) saves the log-sum-exp of each softmax row for backward, so the (T × T) probability
// matrices are recomputed tile by tile instead of written and read back.
//
// Attention-probability dropout: P[q, j] of head h is kept iff
// dropout_keep(drop, token_keys[q], h · 2^20 + j) with j the key's index within its sequence.
// Kept probabilities are scaled by 1 / (1 − p); drop.p ∈ [0, 1]; token_keys may be null when
// p = 0 (or when there are no tokens); every sequence must be shorter than 2^20.
//
// Backward needs the forward's own `out` and `lse` (same qkv, drop and token_keys): it uses
// D_q = dout_q · out_q for the softmax gradient instead of a second pass over the keys.
// CPU: one task per (sequence, head) over OpenMP with 2·L_max² floats of per-thread scratch; the
// results are bitwise the same for any thread count.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/bf16.h"
#include "kernels/device.h"
#include "kernels/dropout.h"

namespace seqmend {

// Which implementation runs the CUDA op. cudnn = cuDNN's fused flash attention through the cuDNN
// frontend (kernels/attention_cudnn.cu): bf16 only, its own dropout masks (Philox, seeded from
// DropoutSpec::seed), so with p > 0 it differs from the other backends by the masks drawn. Being
// flash attention, it also rounds the probabilities (and dS backward) to bf16 inside the kernel, so
// its outputs are within ~1 % of ours in norm rather than the f32 result rounded once. The CPU has
// one implementation and ignores the choice.
enum class AttentionBackend { seqmend, cudnn };

struct AttentionShape {
  int B = 0;                              // sequences
  int NH = 0;                             // heads
  int HS = 0;                             // head size; C = NH · HS
  bool causal = false;                    // token q sees keys j <= q only
  const int64_t* cu_seqlens = nullptr;    // (B + 1), host memory, cu_seqlens[0] = 0
  float scale = 0.0f;                     // 0 → 1 / sqrt(HS)
  AttentionBackend backend = AttentionBackend::seqmend;
};

// Whether AttentionBackend::cudnn can run in this process (a CUDA build with the cuDNN frontend, a
// GPU, libcudnn loadable); when not, *why says which is missing.
bool cudnn_attention_available(std::string* why = nullptr);

void attention_forward(Device dev, float* out, float* lse, const float* qkv, const AttentionShape& s,
                       const DropoutSpec& drop, const uint64_t* token_keys);

// Accumulates dqkv (N, 3C).
void attention_backward(Device dev, float* dqkv, const float* dout, const float* qkv,
                        const float* out, const float* lse, const AttentionShape& s,
                        const DropoutSpec& drop, const uint64_t* token_keys);

// bf16 activations (qkv, out, dout, dqkv), f32 arithmetic and f32 lse: every output element is the
// f32 result rounded once to bf16 (dqkv: its old value plus the f32 gradient, rounded). The CPU
// versions work per (sequence, head) tile: the products of two bf16 inputs (Q Kᵀ, dO Vᵀ) in the
// CPU's native bf16 dot products where it has them (exact products, f32 sums), those with the f32
// probabilities in f32 on widened tiles — the f32 ops above on the widened inputs up to summation
// order (the reference the CUDA kernels are held to).
void attention_forward(Device dev, bf16* out, float* lse, const bf16* qkv, const AttentionShape& s,
                       const DropoutSpec& drop, const uint64_t* token_keys);
void attention_backward(Device dev, bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                        const float* lse, const AttentionShape& s, const DropoutSpec& drop,
                        const uint64_t* token_keys);

}  // namespace seqmend
