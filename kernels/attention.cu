// CUDA twins of kernels/attention.h: fused attention over packed variable-length sequences, with
// f32 or bf16 activations (T below); the arithmetic, shared tiles and lse are f32 either way.
//
// Forward, one block per (query tile of kBr tokens of one sequence, head): each thread owns one
// query row (q, running max m, running sum l and the output accumulator in registers); the block
// streams the sequence's keys and values through shared memory in tiles of kBc and folds them with
// the online softmax (rescale by exp(m_old − m_new) once per 16 keys). Nothing of size L × L is ever
// stored; the log-sum-exp m + log l is saved for backward. Blocks exist only for real tiles (the
// host builds the list from cu_seqlens), so padding and length-0 sequences cost nothing and can
// never produce NaN.
//
// Backward recomputes P = exp(S − lse) tile by tile in two kernels, both without atomics (so the
// result is the same on every run): one block per key tile accumulates dK and dV over all query
// tiles (a thread per key), one block per query tile accumulates dQ over all key tiles (a thread
// per query). D_i = dO_i · O_i comes from a small kernel first (see attention.h).
// Dropout on P uses dropout_keep_in_row from kernels/dropout.h, the same bits as the CPU.
#include <cuda_bf16.h>

#include <cmath>
#include <vector>

#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

namespace seqmend {
namespace {

constexpr uint64_t kHeadCounterStride = uint64_t(1) << 20;  // counter = h · 2^20 + j
constexpr int kTile = 64;   // queries per forward / dQ block, keys per dK/dV block
constexpr int kSub = 16;    // keys per online-softmax rescale in the forward

struct TileRef {
  int b;     // sequence
  int row0;  // first token of the tile within the sequence
};

struct Geometry {
  const int64_t* cu;  // (B + 1) device
  int NH, HS, C3, C;
  float scale;
  bool causal;
  float p;       // dropout probability
  float gain;    // 1 / (1 − p), 0 at p = 1
  uint64_t seed;
  const uint64_t* token_keys;
};

__device__ inline uint64_t row_hash(const Geometry& g, int64_t token) {
  return g.p > 0.0f ? dropout_row_hash(DropoutSpec{g.p, g.seed}, g.token_keys[token]) : 0;
}

__device__ inline float keep_gain(const Geometry& g, uint64_t rh, int h, int64_t j) {
  if (g.p == 0.0f) return 1.0f;
  return dropout_keep_in_row(rh, uint64_t(h) * kHeadCounterStride + uint64_t(j), g.p) ? g.gain : 0.0f;
}

// Loads widen to f32; stores round once (bf16: to nearest even).
__device__ __forceinline__ float ld(const float* p) { return *p; }
__device__ __forceinline__ float ld(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void st(float* p, float v) { *p = v; }
__device__ __forceinline__ void st(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// ---- forward -------------------------------------------------------------------------------

template <typename T, int HSM>
__global__ void __launch_bounds__(kTile) attention_forward_kernel(T* out, float* lse, const T* qkv,
                                                                  const TileRef* tiles, Geometry g) {
  constexpr int kBc = HSM <= 64 ? 64 : 32;
  __shared__ float Ks[kBc][HSM];
  __shared__ float Vs[kBc][HSM];
  const TileRef t = tiles[blockIdx.x];
  const int h = blockIdx.y;
  const int64_t start = g.cu[t.b];
  const int len = int(g.cu[t.b + 1] - start);
  const int qi = t.row0 + threadIdx.x;
  const bool active = qi < len;
  const int HS = g.HS;

  float q[HSM], o[HSM];
  const T* qrow = qkv + (start + (active ? qi : 0)) * g.C3 + h * HS;
#pragma unroll
  for (int d = 0; d < HSM; ++d) {
    q[d] = (active && d < HS) ? ld(qrow + d) : 0.0f;
    o[d] = 0.0f;
  }
  const uint64_t rh = active ? row_hash(g, start + qi) : 0;
  float m = -INFINITY, l = 0.0f;
  // Keys this block needs: all of the sequence, or up to the tile's last query when causal.
  const int kv_end = g.causal ? min(len, t.row0 + kTile) : len;
  for (int k0 = 0; k0 < kv_end; k0 += kBc) {
    __syncthreads();
    for (int e = threadIdx.x; e < kBc * HSM; e += kTile) {
      const int j = e / HSM, d = e % HSM;
      const bool ok = k0 + j < len && d < HS;
      const T* kr = qkv + (start + k0 + j) * g.C3 + g.C + h * HS;
      Ks[j][d] = ok ? ld(kr + d) : 0.0f;
      Vs[j][d] = ok ? ld(kr + g.C + d) : 0.0f;
    }
    __syncthreads();
    if (!active) continue;
    int nk = min(kBc, len - k0);
    if (g.causal) nk = min(nk, qi - k0 + 1);
    for (int j0 = 0; j0 < nk; j0 += kSub) {
      float s[kSub];
      float cmax = -INFINITY;
#pragma unroll
      for (int jj = 0; jj < kSub; ++jj) {
        float acc = 0.0f;
#pragma unroll
        for (int d = 0; d < HSM; ++d) acc += q[d] * Ks[j0 + jj < kBc ? j0 + jj : 0][d];
        s[jj] = j0 + jj < nk ? acc * g.scale : -INFINITY;
        cmax = fmaxf(cmax, s[jj]);
      }
      const float m_new = fmaxf(m, cmax);
      const float corr = expf(m - m_new);  // m = −inf on the first keys: corr = 0
      l *= corr;
#pragma unroll
      for (int d = 0; d < HSM; ++d) o[d] *= corr;
#pragma unroll
      for (int jj = 0; jj < kSub; ++jj) {
        if (j0 + jj >= nk) break;
        const float pj = expf(s[jj] - m_new);
        l += pj;
        const float pd = pj * keep_gain(g, rh, h, k0 + j0 + jj);
#pragma unroll
        for (int d = 0; d < HSM; ++d) o[d] += pd * Vs[j0 + jj][d];
      }
      m = m_new;
    }
  }
  if (!active) return;
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  T* orow = out + (start + qi) * g.C + h * HS;
#pragma unroll
  for (int d = 0; d < HSM; ++d)
    if (d < HS) st(orow + d, o[d] * inv);
  lse[(start + qi) * g.NH + h] = l > 0.0f ? m + logf(l) : -INFINITY;
}

// ---- backward ------------------------------------------------------------------------------

// D (N, NH) = Σ_d dO · O per token and head.
template <typename T>
__global__ void attention_dot_kernel(float* D, const T* dout, const T* out, long long N, int NH,
                                     int HS) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N * NH) return;
  const long long n = i / NH;
  const int h = int(i % NH);
  const long long C = (long long)NH * HS;
  float acc = 0.0f;
  for (int d = 0; d < HS; ++d) acc += ld(dout + n * C + h * HS + d) * ld(out + n * C + h * HS + d);
  D[i] = acc;
}

constexpr int kQTileB = 32;  // queries per shared tile in the dK/dV kernel
constexpr int kKTileB = 32;  // keys per shared tile in the dQ kernel

// One block per key tile: thread j owns key row0 + j; its k and v rows sit in (padded) shared
// memory, its dk and dv accumulators in registers. Query tiles stream through shared memory.
template <typename T, int HSM>
__global__ void __launch_bounds__(kTile) attention_dkdv_kernel(T* dqkv, const T* dout, const T* qkv,
                                                               const float* lse, const float* D,
                                                               const TileRef* tiles, Geometry g) {
  extern __shared__ float smem[];
  float* Kown = smem;                          // (kTile, HSM + 1)
  float* Vown = Kown + kTile * (HSM + 1);      // (kTile, HSM + 1)
  float* Qs = Vown + kTile * (HSM + 1);        // (kQTileB, HSM)
  float* dOs = Qs + kQTileB * HSM;             // (kQTileB, HSM)
  float* lse_s = dOs + kQTileB * HSM;          // (kQTileB)
  float* D_s = lse_s + kQTileB;                // (kQTileB)
  uint64_t* rh_s = reinterpret_cast<uint64_t*>(D_s + kQTileB + (kQTileB % 2));  // (kQTileB)

  const TileRef t = tiles[blockIdx.x];
  const int h = blockIdx.y;
  const int64_t start = g.cu[t.b];
  const int len = int(g.cu[t.b + 1] - start);
  const int HS = g.HS;
  const int kj = t.row0 + threadIdx.x;
  const bool active = kj < len;
  for (int e = threadIdx.x; e < kTile * HSM; e += kTile) {
    const int j = e / HSM, d = e % HSM;
    const bool ok = t.row0 + j < len && d < HS;
    const T* kr = qkv + (start + t.row0 + j) * g.C3 + g.C + h * HS;
    Kown[j * (HSM + 1) + d] = ok ? ld(kr + d) : 0.0f;
    Vown[j * (HSM + 1) + d] = ok ? ld(kr + g.C + d) : 0.0f;
  }
  float dk[HSM], dv[HSM];
#pragma unroll
  for (int d = 0; d < HSM; ++d) dk[d] = dv[d] = 0.0f;
  const float* kmine = Kown + threadIdx.x * (HSM + 1);
  const float* vmine = Vown + threadIdx.x * (HSM + 1);
  // Causal: only queries at or after the tile's first key see it.
  const int q_begin = g.causal ? (t.row0 / kQTileB) * kQTileB : 0;
  for (int q0 = q_begin; q0 < len; q0 += kQTileB) {
    __syncthreads();
    for (int e = threadIdx.x; e < kQTileB * HSM; e += kTile) {
      const int i = e / HSM, d = e % HSM;
      const bool ok = q0 + i < len && d < HS;
      const int64_t tok = start + q0 + i;
      Qs[e] = ok ? ld(qkv + tok * g.C3 + h * HS + d) : 0.0f;
      dOs[e] = ok ? ld(dout + tok * g.C + h * HS + d) : 0.0f;
    }
    for (int i = threadIdx.x; i < kQTileB; i += kTile) {
      const bool ok = q0 + i < len;
      const int64_t tok = start + q0 + i;
      lse_s[i] = ok ? lse[tok * g.NH + h] : 0.0f;
      D_s[i] = ok ? D[tok * g.NH + h] : 0.0f;
      rh_s[i] = ok ? row_hash(g, tok) : 0;
    }
    __syncthreads();
    if (!active) continue;
    const int nq = min(kQTileB, len - q0);
    for (int i = 0; i < nq; ++i) {
      if (g.causal && kj > q0 + i) continue;
      const float* qi = Qs + i * HSM;
      const float* doi = dOs + i * HSM;
      float sdot = 0.0f, dp = 0.0f;
#pragma unroll
      for (int d = 0; d < HSM; ++d) {
        sdot += qi[d] * kmine[d];
        dp += doi[d] * vmine[d];
      }
      const float p = expf(sdot * g.scale - lse_s[i]);
      const float mk = keep_gain(g, rh_s[i], h, kj);
      const float pd = p * mk;
      const float ds = p * (dp * mk - D_s[i]) * g.scale;
#pragma unroll
      for (int d = 0; d < HSM; ++d) {
        dv[d] += pd * doi[d];
        dk[d] += ds * qi[d];
      }
    }
  }
  if (!active) return;
  T* dkrow = dqkv + (start + kj) * g.C3 + g.C + h * HS;
#pragma unroll
  for (int d = 0; d < HSM; ++d) {
    if (d < HS) {
      st(dkrow + d, ld(dkrow + d) + dk[d]);
      st(dkrow + g.C + d, ld(dkrow + g.C + d) + dv[d]);
    }
  }
}

// One block per query tile: thread i owns query row0 + i (q and dO in padded shared memory, dq in
// registers); key tiles stream through shared memory.
template <typename T, int HSM>
__global__ void __launch_bounds__(kTile) attention_dq_kernel(T* dqkv, const T* dout, const T* qkv,
                                                             const float* lse, const float* D,
                                                             const TileRef* tiles, Geometry g) {
  extern __shared__ float smem[];
  float* Qown = smem;                       // (kTile, HSM + 1)
  float* dOown = Qown + kTile * (HSM + 1);  // (kTile, HSM + 1)
  float* Ks = dOown + kTile * (HSM + 1);    // (kKTileB, HSM)
  float* Vs = Ks + kKTileB * HSM;           // (kKTileB, HSM)

  const TileRef t = tiles[blockIdx.x];
  const int h = blockIdx.y;
  const int64_t start = g.cu[t.b];
  const int len = int(g.cu[t.b + 1] - start);
  const int HS = g.HS;
  const int qi = t.row0 + threadIdx.x;
  const bool active = qi < len;
  for (int e = threadIdx.x; e < kTile * HSM; e += kTile) {
    const int i = e / HSM, d = e % HSM;
    const bool ok = t.row0 + i < len && d < HS;
    const int64_t tok = start + t.row0 + i;
    Qown[i * (HSM + 1) + d] = ok ? ld(qkv + tok * g.C3 + h * HS + d) : 0.0f;
    dOown[i * (HSM + 1) + d] = ok ? ld(dout + tok * g.C + h * HS + d) : 0.0f;
  }
  const float* qmine = Qown + threadIdx.x * (HSM + 1);
  const float* domine = dOown + threadIdx.x * (HSM + 1);
  const float row_lse = active ? lse[(start + qi) * g.NH + h] : 0.0f;
  const float Di = active ? D[(start + qi) * g.NH + h] : 0.0f;
  const uint64_t rh = active ? row_hash(g, start + qi) : 0;
  float dq[HSM];
#pragma unroll
  for (int d = 0; d < HSM; ++d) dq[d] = 0.0f;
  const int kv_end = g.causal ? min(len, t.row0 + kTile) : len;
  for (int k0 = 0; k0 < kv_end; k0 += kKTileB) {
    __syncthreads();
    for (int e = threadIdx.x; e < kKTileB * HSM; e += kTile) {
      const int j = e / HSM, d = e % HSM;
      const bool ok = k0 + j < len && d < HS;
      const T* kr = qkv + (start + k0 + j) * g.C3 + g.C + h * HS;
      Ks[e] = ok ? ld(kr + d) : 0.0f;
      Vs[e] = ok ? ld(kr + g.C + d) : 0.0f;
    }
    __syncthreads();
    if (!active) continue;
    int nk = min(kKTileB, len - k0);
    if (g.causal) nk = min(nk, qi - k0 + 1);
    for (int j = 0; j < nk; ++j) {
      const float* kj = Ks + j * HSM;
      const float* vj = Vs + j * HSM;
      float sdot = 0.0f, dp = 0.0f;
#pragma unroll
      for (int d = 0; d < HSM; ++d) {
        sdot += qmine[d] * kj[d];
        dp += domine[d] * vj[d];
      }
      const float p = expf(sdot * g.scale - row_lse);
      const float mk = keep_gain(g, rh, h, k0 + j);
      const float ds = p * (dp * mk - Di) * g.scale;
#pragma unroll
      for (int d = 0; d < HSM; ++d) dq[d] += ds * kj[d];
    }
  }
  if (!active) return;
  T* dqrow = dqkv + (start + qi) * g.C3 + h * HS;
#pragma unroll
  for (int d = 0; d < HSM; ++d)
    if (d < HS) st(dqrow + d, ld(dqrow + d) + dq[d]);
}

// ---- host side -------------------------------------------------------------------------------

struct Plan {
  std::vector<TileRef> tiles;  // one per kTile rows of every non-empty sequence
  int64_t N = 0;
};

// The op's contract (shape, cu_seqlens, dropout, token_keys) was checked before the dispatch
// (kernels/attention.cpp); what is left is this kernel's own limits.
Plan plan(const char* op, const AttentionShape& s) {
  SEQ_CHECK(s.HS <= 128, op, ": head size ", s.HS, " above 128 is not supported by the CUDA kernel");
  Plan pl;
  if (s.B == 0) return pl;
  for (int b = 0; b < s.B; ++b) {
    const int64_t len = s.cu_seqlens[b + 1] - s.cu_seqlens[b];
    for (int64_t r = 0; r < len; r += kTile) pl.tiles.push_back({b, int(r)});
  }
  pl.N = s.cu_seqlens[s.B];
  SEQ_CHECK(pl.tiles.size() < (size_t(1) << 31), op, ": too many tiles");
  return pl;
}

// cu_seqlens and the tile list on the device (one copy each, ordered on the op stream).
struct DeviceTables {
  CudaBuffer cu, tiles;
  DeviceTables(const AttentionShape& s, const Plan& pl)
      : cu(size_t(s.B + 1) * sizeof(int64_t)), tiles(pl.tiles.size() * sizeof(TileRef)) {
    CUDA_CHECK(cudaMemcpyAsync(cu.as<void>(), s.cu_seqlens, size_t(s.B + 1) * sizeof(int64_t),
                               cudaMemcpyHostToDevice, cuda_stream()));
    CUDA_CHECK(cudaMemcpyAsync(tiles.as<void>(), pl.tiles.data(), pl.tiles.size() * sizeof(TileRef),
                               cudaMemcpyHostToDevice, cuda_stream()));
    // From pageable memory, cudaMemcpyAsync has staged the source before it returns, so the host
    // vectors may die with the caller's frame without a stream sync here.
  }
};

Geometry geometry(const AttentionShape& s, const DropoutSpec& drop, const uint64_t* token_keys,
                  const int64_t* cu_dev) {
  Geometry g;
  g.cu = cu_dev;
  g.NH = s.NH;
  g.HS = s.HS;
  g.C = s.NH * s.HS;
  g.C3 = 3 * g.C;
  g.scale = s.scale != 0.0f ? s.scale : 1.0f / std::sqrt(float(s.HS));
  g.causal = s.causal;
  g.p = drop.p;
  g.gain = drop.p < 1.0f ? 1.0f / (1.0f - drop.p) : 0.0f;
  g.seed = drop.seed;
  g.token_keys = token_keys;
  return g;
}

template <int HSM>
size_t dkdv_smem() {
  return (2 * kTile * (HSM + 1) + 2 * kQTileB * HSM + 2 * kQTileB + 2) * sizeof(float) +
         kQTileB * sizeof(uint64_t);
}
template <int HSM>
size_t dq_smem() {
  return (2 * kTile * (HSM + 1) + 2 * kKTileB * HSM) * sizeof(float);
}

template <typename T, int HSM>
void launch_forward(T* out, float* lse, const T* qkv, const TileRef* tiles, int ntiles,
                    const Geometry& g) {
  const dim3 grid(unsigned(ntiles), unsigned(g.NH));
  attention_forward_kernel<T, HSM><<<grid, kTile, 0, cuda_stream()>>>(out, lse, qkv, tiles, g);
  CUDA_CHECK_LAUNCH(attention_forward_kernel);
}

template <typename T, int HSM>
void launch_backward(T* dqkv, const T* dout, const T* qkv, const float* lse, const float* D,
                     const TileRef* tiles, int ntiles, const Geometry& g) {
  static const bool configured = [] {
    CUDA_CHECK(cudaFuncSetAttribute(attention_dkdv_kernel<T, HSM>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, int(dkdv_smem<HSM>())));
    CUDA_CHECK(cudaFuncSetAttribute(attention_dq_kernel<T, HSM>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, int(dq_smem<HSM>())));
    return true;
  }();
  (void)configured;
  const dim3 grid(unsigned(ntiles), unsigned(g.NH));
  attention_dkdv_kernel<T, HSM><<<grid, kTile, dkdv_smem<HSM>(), cuda_stream()>>>(dqkv, dout, qkv,
                                                                                 lse, D, tiles, g);
  CUDA_CHECK_LAUNCH(attention_dkdv_kernel);
  attention_dq_kernel<T, HSM><<<grid, kTile, dq_smem<HSM>(), cuda_stream()>>>(dqkv, dout, qkv, lse,
                                                                             D, tiles, g);
  CUDA_CHECK_LAUNCH(attention_dq_kernel);
}

template <typename T>
void forward_impl(T* out, float* lse, const T* qkv, const AttentionShape& s, const DropoutSpec& drop,
                  const uint64_t* token_keys) {
  cuda_require("attention_forward");
  const Plan pl = plan("attention_forward", s);
  if (pl.tiles.empty()) return;
  DeviceTables dt(s, pl);
  const Geometry g = geometry(s, drop, token_keys, dt.cu.as<int64_t>());
  const TileRef* tiles = dt.tiles.as<TileRef>();
  const int nt = int(pl.tiles.size());
  if (s.HS <= 32)
    launch_forward<T, 32>(out, lse, qkv, tiles, nt, g);
  else if (s.HS <= 64)
    launch_forward<T, 64>(out, lse, qkv, tiles, nt, g);
  else
    launch_forward<T, 128>(out, lse, qkv, tiles, nt, g);
}

template <typename T>
void backward_impl(T* dqkv, const T* dout, const T* qkv, const T* out, const float* lse,
                   const AttentionShape& s, const DropoutSpec& drop, const uint64_t* token_keys) {
  cuda_require("attention_backward");
  const Plan pl = plan("attention_backward", s);
  if (pl.tiles.empty()) return;
  DeviceTables dt(s, pl);
  const Geometry g = geometry(s, drop, token_keys, dt.cu.as<int64_t>());
  CudaBuffer D(size_t(pl.N) * size_t(s.NH) * sizeof(float));  // (N, NH)
  const long long nd = pl.N * s.NH;
  attention_dot_kernel<T><<<grid_for(nd, 256), 256, 0, cuda_stream()>>>(D.as<float>(), dout, out,
                                                                         pl.N, s.NH, s.HS);
  CUDA_CHECK_LAUNCH(attention_dot_kernel);
  const TileRef* tiles = dt.tiles.as<TileRef>();
  const int nt = int(pl.tiles.size());
  if (s.HS <= 32)
    launch_backward<T, 32>(dqkv, dout, qkv, lse, D.as<float>(), tiles, nt, g);
  else if (s.HS <= 64)
    launch_backward<T, 64>(dqkv, dout, qkv, lse, D.as<float>(), tiles, nt, g);
  else
    launch_backward<T, 128>(dqkv, dout, qkv, lse, D.as<float>(), tiles, nt, g);
}

__nv_bfloat16* dev_bf16(bf16* p) { return reinterpret_cast<__nv_bfloat16*>(p); }
const __nv_bfloat16* dev_bf16(const bf16* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }

}  // namespace

void attention_forward_cuda(float* out, float* lse, const float* qkv, const AttentionShape& s,
                            const DropoutSpec& drop, const uint64_t* token_keys) {
  SEQ_CHECK(s.backend == AttentionBackend::seqmend,
            "attention_forward: the cudnn backend takes bf16 activations (cuDNN's fused attention has no f32)");
  forward_impl(out, lse, qkv, s, drop, token_keys);
}

void attention_backward_cuda(float* dqkv, const float* dout, const float* qkv, const float* out,
                             const float* lse, const AttentionShape& s, const DropoutSpec& drop,
                             const uint64_t* token_keys) {
  SEQ_CHECK(s.backend == AttentionBackend::seqmend,
            "attention_backward: the cudnn backend takes bf16 activations (cuDNN's fused attention has no f32)");
  backward_impl(dqkv, dout, qkv, out, lse, s, drop, token_keys);
}

void attention_forward_cuda(bf16* out, float* lse, const bf16* qkv, const AttentionShape& s,
                            const DropoutSpec& drop, const uint64_t* token_keys) {
  if (s.backend == AttentionBackend::cudnn) return attention_forward_cudnn(out, lse, qkv, s, drop);
  forward_impl(dev_bf16(out), lse, dev_bf16(qkv), s, drop, token_keys);
}

void attention_backward_cuda(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                             const float* lse, const AttentionShape& s, const DropoutSpec& drop,
                             const uint64_t* token_keys) {
  if (s.backend == AttentionBackend::cudnn)
    return attention_backward_cudnn(dqkv, dout, qkv, out, lse, s, drop);
  backward_impl(dev_bf16(dqkv), dev_bf16(dout), dev_bf16(qkv), dev_bf16(out), lse, s, drop,
                token_keys);
}

}  // namespace seqmend
