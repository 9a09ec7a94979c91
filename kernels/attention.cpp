// CPU attention over packed sequences. One task per (sequence, head): its scores live in an
// (L × L) per-thread scratch (backward adds a second one: 320 KB at L = 200, still in L2), the
// small products go through single-threaded gemm() (kernels/gemm.h; OpenBLAS ≈100–120, oneDNN ≈180–240 GFLOP/s at L 200, HS 32,
// about 3× a register-blocked loop version), and OpenMP spreads the tasks over the cores, longest
// first. Nothing of size B·NH·T·T is ever allocated; backward recomputes P from the saved lse.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/error.h"
#include "kernels/blas_single_thread.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/fast_exp.h"

namespace seqmend {
namespace {

constexpr uint64_t kHeadCounterStride = uint64_t(1) << 20;  // counter = h · 2^20 + j

struct Task {
  int b;
  int h;
  int64_t len;
};

// The op's contract (kernels/attention.h), checked before the CPU/CUDA dispatch for every backend:
// cu_seqlens is host memory, so its entries are read here too.
void check_args(const char* op, const AttentionShape& s, const DropoutSpec& drop, const uint64_t* token_keys) {
  SEQ_CHECK(s.B >= 0 && s.NH > 0 && s.HS > 0, op, ": bad shape B=", s.B, " NH=", s.NH, " HS=", s.HS);
  SEQ_CHECK(s.cu_seqlens != nullptr || s.B == 0, op, ": cu_seqlens is null");
  SEQ_CHECK(drop.p >= 0.0f && drop.p <= 1.0f, op, ": dropout p=", drop.p, " outside [0, 1]");
  if (s.B == 0) return;
  SEQ_CHECK(s.cu_seqlens[0] == 0, op, ": cu_seqlens[0]=", s.cu_seqlens[0], ", expected 0");
  bool any_tokens = false;
  for (int b = 0; b < s.B; ++b) {
    const int64_t len = s.cu_seqlens[b + 1] - s.cu_seqlens[b];
    SEQ_CHECK(len >= 0, op, ": cu_seqlens decreases at sequence ", b, " (", s.cu_seqlens[b], " → ",
              s.cu_seqlens[b + 1], ")");
    SEQ_CHECK(len < int64_t(kHeadCounterStride), op, ": sequence ", b, " has length ", len,
              ", the dropout counter allows < 2^20");
    any_tokens = any_tokens || len > 0;
  }
  SEQ_CHECK(drop.p == 0.0f || !any_tokens || token_keys != nullptr, op, ": dropout p=", drop.p,
            " needs token_keys");
}

// The (sequence, head) tasks with work (arguments checked), longest first, so the dynamic schedule
// does not end on one long sequence while the other core idles.
std::vector<Task> plan_tasks(const AttentionShape& s) {
  std::vector<Task> tasks;
  for (int b = 0; b < s.B; ++b) {
    const int64_t len = s.cu_seqlens[b + 1] - s.cu_seqlens[b];
    if (len == 0) continue;
    for (int h = 0; h < s.NH; ++h) tasks.push_back({b, h, len});
  }
  std::stable_sort(tasks.begin(), tasks.end(), [](const Task& x, const Task& y) { return x.len > y.len; });
  return tasks;
}

float softmax_scale(const AttentionShape& s) {
  return s.scale != 0.0f ? s.scale : 1.0f / std::sqrt(float(s.HS));
}

// Per-thread scratch that grows to the largest request and is then reused across calls.
float* scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// keep / (1 − p) for a kept element; p = 1 drops everything.
float dropout_gain(const DropoutSpec& drop) { return drop.p < 1.0f ? 1.0f / (1.0f - drop.p) : 0.0f; }

// Head h's column hashes mix64(h · 2^20 + j), j < L (dropout.h's exact rewrite): one table per
// task serves its L rows. Per-thread scratch, like scratch() above.
const uint64_t* head_column_hashes(int h, int64_t L) {
  thread_local std::vector<uint64_t> buf;
  if (buf.size() < size_t(L)) buf.resize(size_t(L));
  dropout_column_hashes(buf.data(), uint64_t(h) * kHeadCounterStride, L);
  return buf.data();
}

// Multiplies a row of P (keys 0..n−1 of the query token with key `token_key`) by keep / (1 − p),
// with the head's column hashes `mixed`. The hash is inline and vectorises, so regenerating the
// mask costs about as much as one extra pass over the row.
void apply_dropout_row(float* p_row, int64_t n, const DropoutSpec& drop, uint64_t token_key, const uint64_t* mixed) {
  const float gain = dropout_gain(drop);
  const uint64_t row_hash = dropout_row_hash(drop, token_key);
  const uint64_t threshold = dropout_threshold(drop.p);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) p_row[j] *= dropout_keep_mixed(row_hash, mixed[j], threshold) ? gain : 0.0f;
}

// Softmax of each score row of S (L, L) in place, unnormalised: exp(S_ij − max_i), dropped out;
// lse of the rows into lse[(start + i)·NH + h], 1 / Σ_j into inv_sum (L).
void softmax_rows(float* S, float* inv_sum, int64_t L, const Task& t, int64_t start, float* lse,
                  const AttentionShape& s, const DropoutSpec& drop, const uint64_t* token_keys) {
  const int h = t.h;
  const uint64_t* mixed = drop.p > 0.0f ? head_column_hashes(h, L) : nullptr;
  for (int64_t i = 0; i < L; ++i) {
    float* row = S + i * L;
    const int64_t n = s.causal ? i + 1 : L;  // keys this query sees
    // omp simd: lets the reductions vectorise (in a fixed order, so results stay deterministic)
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < n; ++j) mx = row[j] > mx ? row[j] : mx;  // std::max does not vectorise
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      float e = fast_exp(row[j] - mx);
      row[j] = e;
      sum += e;
    }
    for (int64_t j = n; j < L; ++j) row[j] = 0.0f;
    lse[(start + i) * s.NH + h] = mx + std::log(sum);
    inv_sum[i] = 1.0f / sum;  // sum >= 1: the max element contributes exp(0)
    if (drop.p > 0.0f) apply_dropout_row(row, n, drop, token_keys[start + i], mixed);
  }
}

void forward_task(const Task& t, float* out, float* lse, const float* qkv, const AttentionShape& s,
                  float scale, const DropoutSpec& drop, const uint64_t* token_keys) {
  const int C = s.NH * s.HS, C3 = 3 * C, HS = s.HS, h = t.h;
  const int64_t L = t.len, start = s.cu_seqlens[t.b];
  const float* q = qkv + start * C3 + h * HS;  // (L, HS) rows strided by 3C
  const float* k = q + C;
  const float* v = q + 2 * C;
  float* S = scratch(size_t(L * L + L));  // (L, L) scores, then unnormalised probabilities
  float* inv_sum = S + L * L;                // (L) 1 / Σ_j exp(S_ij − max_i)

  gemm(false, true, int(L), int(L), HS, scale, q, C3, k, C3, 0.0f, S, int(L));
  softmax_rows(S, inv_sum, L, t, start, lse, s, drop, token_keys);
  // out_h (L, HS) = P (L, L) · V (L, HS), with the softmax normalisation applied to the L × HS
  // product rather than to the L × L probabilities (one pass fewer over the big matrix).
  float* o = out + start * C + h * HS;
  gemm(false, false, int(L), HS, int(L), 1.0f, S, int(L), v, C3, 0.0f, o, C);
  for (int64_t i = 0; i < L; ++i) {
    const float k_i = inv_sum[i];
#pragma omp simd
    for (int j = 0; j < HS; ++j) o[i * C + j] *= k_i;
  }
}

// Head h's (L, HS) columns of a bf16 array with row stride ld, widened into tile (L, HS).
void widen_tile(float* tile, const bf16* src, int64_t L, int HS, int ld) {
  for (int64_t i = 0; i < L; ++i)
#pragma omp simd
    for (int j = 0; j < HS; ++j) tile[i * HS + j] = to_float(src[i * ld + j]);
}

// The bf16 forward: the scores Q Kᵀ multiply bf16 inputs natively where the CPU can (exact
// products, f32 sums: the f32 op's products on the widened inputs); P stays f32, so P V runs in
// f32 on a widened V tile; each output element is rounded once.
void forward_task_bf16(const Task& t, bf16* out, float* lse, const bf16* qkv, const AttentionShape& s,
                       float scale, const DropoutSpec& drop, const uint64_t* token_keys, bool native) {
  const int C = s.NH * s.HS, C3 = 3 * C, HS = s.HS, h = t.h;
  const int64_t L = t.len, start = s.cu_seqlens[t.b];
  const bf16* q = qkv + start * C3 + h * HS;
  const bf16* k = q + C;
  const bf16* v = q + 2 * C;
  float* S = scratch(size_t(L * L + L + 4 * L * HS));
  float* inv_sum = S + L * L;
  float* vt = inv_sum + L;  // (L, HS) tiles: V, O, and Q, K where the products are emulated
  float* ot = vt + L * HS;
  if (native) {
    gemm(false, true, int(L), int(L), HS, scale, q, C3, k, C3, 0.0f, S, int(L));
  } else {
    float* qt = ot + L * HS;
    float* kt = qt + L * HS;
    widen_tile(qt, q, L, HS, C3);
    widen_tile(kt, k, L, HS, C3);
    gemm(false, true, int(L), int(L), HS, scale, qt, HS, kt, HS, 0.0f, S, int(L));
  }
  softmax_rows(S, inv_sum, L, t, start, lse, s, drop, token_keys);
  widen_tile(vt, v, L, HS, C3);
  gemm(false, false, int(L), HS, int(L), 1.0f, S, int(L), vt, HS, 0.0f, ot, HS);
  bf16* o = out + start * C + h * HS;
  for (int64_t i = 0; i < L; ++i) {
    const float k_i = inv_sum[i];
#pragma omp simd
    for (int j = 0; j < HS; ++j) o[i * C + j] = to_bf16(ot[i * HS + j] * k_i);
  }
}

// Per row i of P (scores on entry) and dS (dP̃ on entry): P recomputed from the saved lse, fused
// with the dS update (one pass over both rows); dO and O are head h's (L, HS) rows with strides
// ld_do and ld_o.
void backward_rows(float* P, float* dS, int64_t L, const Task& t, int64_t start, const float* lse,
                   const float* dO, int ld_do, const float* o, int ld_o, const AttentionShape& s,
                   const DropoutSpec& drop, const uint64_t* token_keys) {
  const int HS = s.HS, h = t.h;
  const float gain = dropout_gain(drop);
  const uint64_t threshold = dropout_threshold(drop.p);
  const uint64_t* mixed = drop.p > 0.0f ? head_column_hashes(h, L) : nullptr;
  for (int64_t i = 0; i < L; ++i) {
    float* prow = P + i * L;
    float* drow = dS + i * L;
    const int64_t n = s.causal ? i + 1 : L;
    const float row_lse = lse[(start + i) * s.NH + h];
    float D = 0.0f;
#pragma omp simd reduction(+ : D)
    for (int j = 0; j < HS; ++j) D += dO[i * ld_do + j] * o[i * ld_o + j];
    if (drop.p > 0.0f) {
      const uint64_t row_hash = dropout_row_hash(drop, token_keys[start + i]);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        const float m = dropout_keep_mixed(row_hash, mixed[j], threshold) ? gain : 0.0f;
        const float p = fast_exp(prow[j] - row_lse);
        drow[j] = p * (drow[j] * m - D);
        prow[j] = p * m;
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        const float p = fast_exp(prow[j] - row_lse);
        drow[j] = p * (drow[j] - D);
        prow[j] = p;
      }
    }
    for (int64_t j = n; j < L; ++j) prow[j] = drow[j] = 0.0f;
  }
}

// With P = softmax(S), P̃ = P ∘ keep / (1 − p), O = P̃ V:
//   dV += P̃ᵀ dO;  dP̃ = dO Vᵀ;  dP = dP̃ ∘ keep / (1 − p);
//   dS = P ∘ (dP − D) with D_i = Σ_j P_ij dP_ij = Σ_j P̃_ij dP̃_ij = dO_i · O_i;
//   dQ += scale · dS K;  dK += scale · dSᵀ Q.
void backward_task(const Task& t, float* dqkv, const float* dout, const float* qkv, const float* out,
                   const float* lse, const AttentionShape& s, float scale, const DropoutSpec& drop,
                   const uint64_t* token_keys) {
  const int C = s.NH * s.HS, C3 = 3 * C, HS = s.HS, h = t.h;
  const int64_t L = t.len, start = s.cu_seqlens[t.b];
  const float* q = qkv + start * C3 + h * HS;
  const float* k = q + C;
  const float* v = q + 2 * C;
  const float* o = out + start * C + h * HS;   // (L, HS) rows strided by C
  const float* dO = dout + start * C + h * HS;
  float* dq = dqkv + start * C3 + h * HS;
  float* dk = dq + C;
  float* dv = dq + 2 * C;
  float* P = scratch(size_t(2 * L * L));  // (L, L) probabilities (after dropout, for dV)
  float* dS = P + L * L;                  // (L, L) dP̃, then dS in place

  gemm(false, true, int(L), int(L), HS, scale, q, C3, k, C3, 0.0f, P, int(L));
  gemm(false, true, int(L), int(L), HS, 1.0f, dO, C, v, C3, 0.0f, dS, int(L));
  backward_rows(P, dS, L, t, start, lse, dO, C, o, C, s, drop, token_keys);
  // dV (L, HS) += P̃ᵀ (L, L) · dO (L, HS)
  gemm(true, false, int(L), HS, int(L), 1.0f, P, int(L), dO, C, 1.0f, dv, C3);
  // dQ (L, HS) += scale · dS (L, L) · K (L, HS);  dK (L, HS) += scale · dSᵀ · Q
  gemm(false, false, int(L), HS, int(L), scale, dS, int(L), k, C3, 1.0f, dq, C3);
  gemm(true, false, int(L), HS, int(L), scale, dS, int(L), q, C3, 1.0f, dk, C3);
}

// Rounds tile (L, HS) into head h's columns of a bf16 array with row stride ld.
void round_tile(bf16* dst, const float* tile, int64_t L, int HS, int ld) {
  for (int64_t i = 0; i < L; ++i)
#pragma omp simd
    for (int j = 0; j < HS; ++j) dst[i * ld + j] = to_bf16(tile[i * HS + j]);
}

// The bf16 backward: Q Kᵀ and dO Vᵀ multiply bf16 inputs natively where the CPU can; the products
// with P and dS (f32) run in f32 on widened tiles; dQ, dK, dV are the old values plus the f32
// gradients, rounded once.
void backward_task_bf16(const Task& t, bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                        const float* lse, const AttentionShape& s, float scale, const DropoutSpec& drop,
                        const uint64_t* token_keys, bool native) {
  const int C = s.NH * s.HS, C3 = 3 * C, HS = s.HS;
  const int64_t L = t.len, start = s.cu_seqlens[t.b];
  const bf16* q = qkv + start * C3 + t.h * HS;
  const bf16* k = q + C;
  const bf16* v = q + 2 * C;
  const bf16* o = out + start * C + t.h * HS;
  const bf16* dO = dout + start * C + t.h * HS;
  bf16* dq = dqkv + start * C3 + t.h * HS;
  bf16* dk = dq + C;
  bf16* dv = dq + 2 * C;
  const int64_t tile = L * HS;
  float* P = scratch(size_t(2 * L * L + 8 * tile));
  float* dS = P + L * L;
  float* qt = dS + L * L;  // (L, HS) tiles
  float* kt = qt + tile;
  float* vt = kt + tile;
  float* ot = vt + tile;
  float* dot = ot + tile;
  float* dqt = dot + tile;
  float* dkt = dqt + tile;
  float* dvt = dkt + tile;
  widen_tile(qt, q, L, HS, C3);
  widen_tile(kt, k, L, HS, C3);
  widen_tile(ot, o, L, HS, C);
  widen_tile(dot, dO, L, HS, C);
  if (native) {
    gemm(false, true, int(L), int(L), HS, scale, q, C3, k, C3, 0.0f, P, int(L));
    gemm(false, true, int(L), int(L), HS, 1.0f, dO, C, v, C3, 0.0f, dS, int(L));
  } else {
    widen_tile(vt, v, L, HS, C3);
    gemm(false, true, int(L), int(L), HS, scale, qt, HS, kt, HS, 0.0f, P, int(L));
    gemm(false, true, int(L), int(L), HS, 1.0f, dot, HS, vt, HS, 0.0f, dS, int(L));
  }
  backward_rows(P, dS, L, t, start, lse, dot, HS, ot, HS, s, drop, token_keys);
  widen_tile(dqt, dq, L, HS, C3);
  widen_tile(dkt, dk, L, HS, C3);
  widen_tile(dvt, dv, L, HS, C3);
  gemm(true, false, int(L), HS, int(L), 1.0f, P, int(L), dot, HS, 1.0f, dvt, HS);
  gemm(false, false, int(L), HS, int(L), scale, dS, int(L), kt, HS, 1.0f, dqt, HS);
  gemm(true, false, int(L), HS, int(L), scale, dS, int(L), qt, HS, 1.0f, dkt, HS);
  round_tile(dq, dqt, L, HS, C3);
  round_tile(dk, dkt, L, HS, C3);
  round_tile(dv, dvt, L, HS, C3);
}

// fn(task) for every task of s's plan on the OpenMP team, each with BLAS held at one thread (the
// tasks are the parallelism); nothing to do for a batch without tokens.
template <typename Fn>
void for_each_task(const AttentionShape& s, Fn fn) {
  const std::vector<Task> tasks = plan_tasks(s);
  const int64_t n_tasks = int64_t(tasks.size());
  if (n_tasks == 0) return;
  BlasSingleThread single;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < n_tasks; ++i) fn(tasks[size_t(i)]);
}

}  // namespace

void attention_forward(Device dev, float* out, float* lse, const float* qkv, const AttentionShape& s,
                       const DropoutSpec& drop, const uint64_t* token_keys) {
  check_args("attention_forward", s, drop, token_keys);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(attention_forward, out, lse, qkv, s, drop, token_keys);
  const float scale = softmax_scale(s);
  for_each_task(s, [&](const Task& t) { forward_task(t, out, lse, qkv, s, scale, drop, token_keys); });
}

void attention_backward(Device dev, float* dqkv, const float* dout, const float* qkv,
                        const float* out, const float* lse, const AttentionShape& s,
                        const DropoutSpec& drop, const uint64_t* token_keys) {
  check_args("attention_backward", s, drop, token_keys);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(attention_backward, dqkv, dout, qkv, out, lse, s, drop, token_keys);
  const float scale = softmax_scale(s);
  for_each_task(s, [&](const Task& t) { backward_task(t, dqkv, dout, qkv, out, lse, s, scale, drop, token_keys); });
}

void attention_forward(Device dev, bf16* out, float* lse, const bf16* qkv, const AttentionShape& s,
                       const DropoutSpec& drop, const uint64_t* token_keys) {
  check_args("attention_forward", s, drop, token_keys);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(attention_forward, out, lse, qkv, s, drop, token_keys);
  const float scale = softmax_scale(s);
  const bool native = gemm_bf16_native();
  for_each_task(s, [&](const Task& t) { forward_task_bf16(t, out, lse, qkv, s, scale, drop, token_keys, native); });
}

void attention_backward(Device dev, bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                        const float* lse, const AttentionShape& s, const DropoutSpec& drop,
                        const uint64_t* token_keys) {
  check_args("attention_backward", s, drop, token_keys);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(attention_backward, dqkv, dout, qkv, out, lse, s, drop, token_keys);
  const float scale = softmax_scale(s);
  const bool native = gemm_bf16_native();
  for_each_task(s, [&](const Task& t) {
    backward_task_bf16(t, dqkv, dout, qkv, out, lse, s, scale, drop, token_keys, native);
  });
}

bool cudnn_attention_available(std::string* why) {
#ifdef SEQMEND_WITH_CUDA
  return cudnn_attention_available_cuda(why);
#else
  if (why) *why = "this build has no CUDA backend";
  return false;
#endif
}

}  // namespace seqmend
