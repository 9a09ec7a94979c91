// AttentionBackend::cudnn: cuDNN's fused flash attention (SDPA) through the cuDNN frontend's graph
// API, behind the bf16 attention declarations of kernels/attention.h — a fallback for users and
// the in-process peer our own kernel is measured against (bench/cuda_kernels_bench.cpp).
//
// Layout: cuDNN wants dense (B, H, S, D) views; our activations are packed tokens. The sequences are
// copied into a right-padded (B, S, 3C) buffer (S = the longest sequence rounded up to 64, so a few
// graphs serve every batch), Q, K and V are strided views into it, and cuDNN's padding mask (the
// per-sequence lengths) keeps the padding out of every softmax; outputs come back the same way. The
// statistics cuDNN saves for backward ((B, H, S, 1) f32, the log-sum-exp of the scaled scores) are
// our lse (N, NH) and go back to cuDNN's layout for backward.
//
// Graphs are built once per shape and cached. libcudnn is opened at run time (the frontend's dynamic
// loading), so a process without cuDNN runs everything else and only this backend reports why not.
#include "kernels/cuda_allocator.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_context.h"
#include "kernels/cuda_twins.h"

#ifdef SEQMEND_WITH_CUDNN
#include <cuda_bf16.h>
#include <dlfcn.h>

#include <cudnn_frontend.h>

#include <cmath>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

// The frontend's dynamic loading reads libcudnn's symbols through this handle.
namespace cudnn_frontend {
void* cudnn_dlhandle = nullptr;
}  // namespace cudnn_frontend
#endif

namespace seqmend {

#ifdef SEQMEND_WITH_CUDNN
namespace {

namespace fe = cudnn_frontend;

constexpr int64_t kPadTo = 64;
constexpr int kThreads = 256;

enum Uid : int64_t { kQ = 1, kK, kV, kO, kStats, kSeqQ, kSeqKV, kSeed, kOffset, kdO, kdQ, kdK, kdV };

// ---- layout kernels ------------------------------------------------------------------------

// dst (B, S, W) = the packed rows of each sequence, zeros after its end.
__global__ void pad_rows_kernel(__nv_bfloat16* dst, const __nv_bfloat16* src, const int64_t* cu,
                                long long B, long long S, long long W) {
  const long long n = B * S * W;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / (S * W), s = (i / W) % S, w = i % W;
    const long long len = cu[b + 1] - cu[b];
    dst[i] = s < len ? src[(cu[b] + s) * W + w] : __float2bfloat16_rn(0.0f);
  }
}

// The packed rows from (B, S, W): written, or (dqkv) added to what is there, rounded once.
template <bool kAccumulate>
__global__ void unpad_rows_kernel(__nv_bfloat16* dst, const __nv_bfloat16* src, const int64_t* cu,
                                  long long B, long long S, long long W) {
  const long long n = B * S * W;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / (S * W), s = (i / W) % S, w = i % W;
    if (s >= cu[b + 1] - cu[b]) continue;
    __nv_bfloat16* d = dst + (cu[b] + s) * W + w;
    const float v = __bfloat162float(src[i]);
    *d = __float2bfloat16_rn(kAccumulate ? __bfloat162float(*d) + v : v);
  }
}

// stats (B, H, S) → lse (N, H) at the sequences' tokens.
__global__ void stats_to_lse_kernel(float* lse, const float* stats, const int64_t* cu, long long B,
                                    long long H, long long S) {
  const long long n = B * H * S;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / (H * S), h = (i / S) % H, s = i % S;
    if (s < cu[b + 1] - cu[b]) lse[(cu[b] + s) * H + h] = stats[i];
  }
}

// lse (N, H) → stats (B, H, S), 0 at padding rows.
__global__ void lse_to_stats_kernel(float* stats, const float* lse, const int64_t* cu, long long B,
                                    long long H, long long S) {
  const long long n = B * H * S;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const long long b = i / (H * S), h = (i / S) % H, s = i % S;
    stats[i] = s < cu[b + 1] - cu[b] ? lse[(cu[b] + s) * H + h] : 0.0f;
  }
}

// ---- cuDNN -----------------------------------------------------------------------------------

struct Runtime {
  cudnnHandle_t handle = nullptr;
  std::string error;  // why the backend cannot run (empty: it can)
};

Runtime& runtime() {
  static Runtime rt = [] {
    Runtime r;
    if (cuda_device_count() == 0) {
      r.error = "no usable GPU";
      return r;
    }
    fe::cudnn_dlhandle = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_GLOBAL);
    if (fe::cudnn_dlhandle == nullptr) {
      const char* e = dlerror();
      r.error = std::string("libcudnn.so.9 is not loadable (") + (e ? e : "?") + ")";
      return r;
    }
    try {
      if (fe::detail::create_handle(&r.handle) != CUDNN_STATUS_SUCCESS) {
        r.handle = nullptr;
        r.error = "cudnnCreate failed";
      } else if (fe::detail::set_stream(r.handle, cuda_stream()) != CUDNN_STATUS_SUCCESS) {
        r.error = "cudnnSetStream failed";
      }
    } catch (const std::exception& e) {
      r.handle = nullptr;
      r.error = e.what();
    }
    return r;
  }();
  return rt;
}

cudnnHandle_t handle(const char* op) {
  Runtime& rt = runtime();
  SEQ_CHECK(rt.error.empty(), op, " (cudnn backend): ", rt.error);
  return rt.handle;
}

void check(fe::error_t e, const char* op, const char* what) {
  SEQ_CHECK(e.is_good(), op, " (cudnn backend): ", what, ": ", e.get_message());
}

struct Key {
  int64_t B, S, H, D;
  bool causal, backward;
  float scale, p;
  bool operator<(const Key& o) const {
    return std::tie(B, S, H, D, causal, backward, scale, p) <
           std::tie(o.B, o.S, o.H, o.D, o.causal, o.backward, o.scale, o.p);
  }
};

using Graph = std::shared_ptr<fe::graph::Graph>;

// The inputs both directions share: Q, K, V as views of the padded (B, S, 3C) buffer, the lengths
// behind the padding mask, the causal band and the dropout seed.
template <typename Attributes>
std::array<std::shared_ptr<fe::graph::Tensor_attributes>, 3> common_inputs(fe::graph::Graph& g,
                                                                          const Key& k, Attributes& opt) {
  const int64_t row = 3 * k.H * k.D;
  auto view = [&](const char* name, int64_t uid) {
    return g.tensor(fe::graph::Tensor_attributes()
                        .set_name(name)
                        .set_uid(uid)
                        .set_dim({k.B, k.H, k.S, k.D})
                        .set_stride({k.S * row, k.D, row, 1}));
  };
  auto lengths = [&](const char* name, int64_t uid) {
    return g.tensor(fe::graph::Tensor_attributes()
                        .set_name(name)
                        .set_uid(uid)
                        .set_dim({k.B, 1, 1, 1})
                        .set_stride({1, 1, 1, 1})
                        .set_data_type(fe::DataType_t::INT32));
  };
  opt.set_attn_scale(k.scale)
      .set_padding_mask(true)
      .set_seq_len_q(lengths("seq_q", kSeqQ))
      .set_seq_len_kv(lengths("seq_kv", kSeqKV));
  if (k.causal)
    opt.set_diagonal_alignment(fe::DiagonalAlignment_t::TOP_LEFT).set_diagonal_band_right_bound(0);
  if (k.p > 0.0f) {
    auto scalar = [&](const char* name, int64_t uid) {
      return g.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_uid(uid)
                          .set_dim({1, 1, 1, 1})
                          .set_stride({1, 1, 1, 1})
                          .set_data_type(fe::DataType_t::INT64));
    };
    opt.set_dropout(k.p, scalar("seed", kSeed), scalar("offset", kOffset));
  }
  return {view("Q", kQ), view("K", kK), view("V", kV)};
}

// A (B, H, S, D) view of a padded (B, S, C) buffer.
void as_padded_bhsd(fe::graph::Tensor_attributes& t, const Key& k, int64_t uid) {
  const int64_t C = k.H * k.D;
  t.set_uid(uid).set_dim({k.B, k.H, k.S, k.D}).set_stride({k.S * C, k.D, C, 1});
}

Graph build_graph(const Key& k, const char* op) {
  auto g = std::make_shared<fe::graph::Graph>();
  g->set_io_data_type(fe::DataType_t::BFLOAT16)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  if (!k.backward) {
    auto opt = fe::graph::SDPA_attributes().set_name("sdpa").set_generate_stats(true);
    auto [Q, K, V] = common_inputs(*g, k, opt);
    auto [O, Stats] = g->sdpa(Q, K, V, opt);
    O->set_output(true);
    as_padded_bhsd(*O, k, kO);
    Stats->set_output(true)
        .set_uid(kStats)
        .set_data_type(fe::DataType_t::FLOAT)
        .set_dim({k.B, k.H, k.S, 1})
        .set_stride({k.H * k.S, k.S, 1, 1});
  } else {
    // Deterministic: every CUDA op here gives the same bits on every run.
    auto opt = fe::graph::SDPA_backward_attributes().set_name("sdpa_backward").set_deterministic_algorithm(true);
    auto [Q, K, V] = common_inputs(*g, k, opt);
    auto O = g->tensor(fe::graph::Tensor_attributes().set_name("O"));
    as_padded_bhsd(*O, k, kO);
    auto dO = g->tensor(fe::graph::Tensor_attributes().set_name("dO"));
    as_padded_bhsd(*dO, k, kdO);
    auto Stats = g->tensor(fe::graph::Tensor_attributes()
                               .set_name("Stats")
                               .set_uid(kStats)
                               .set_dim({k.B, k.H, k.S, 1})
                               .set_stride({k.H * k.S, k.S, 1, 1})
                               .set_data_type(fe::DataType_t::FLOAT));
    auto [dQ, dK, dV] = g->sdpa_backward(Q, K, V, O, dO, Stats, opt);
    const int64_t row = 3 * k.H * k.D;
    int64_t uid = kdQ;
    for (auto& d : {dQ, dK, dV})
      d->set_output(true).set_uid(uid++).set_dim({k.B, k.H, k.S, k.D}).set_stride({k.S * row, k.D, row, 1});
  }
  check(g->build(handle(op), {fe::HeurMode_t::A}), op, "building the graph");
  return g;
}

Graph graph_for(const Key& k, const char* op) {
  static std::mutex mu;
  static std::map<Key, Graph> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(k);
  if (it == cache.end()) it = cache.emplace(k, build_graph(k, op)).first;
  return it->second;
}

// Per call: the shape, the device copies of cu_seqlens and the lengths, the dropout seed.
struct Call {
  Key key{};
  int64_t N = 0;
  CudaBuffer cu, lengths, seed, offset;

  // The op's contract (shape, cu_seqlens, lengths < 2^20) was checked before the dispatch
  // (kernels/attention.cpp); these are cuDNN's own limits.
  Call(const char* op, const AttentionShape& s, const DropoutSpec& drop, bool backward) {
    SEQ_CHECK(s.HS % 8 == 0 && s.HS <= 128, op, " (cudnn backend): head size ", s.HS,
              " must be a multiple of 8 and at most 128");
    SEQ_CHECK(drop.p < 1.0f, op, " (cudnn backend): dropout p=", drop.p, " outside [0, 1)");
    if (s.B == 0) return;
    // Empty sequences have no tokens and no rows in the padded buffer: cuDNN sees the others only
    // (dropping them from cu_seqlens removes its repeated entries).
    std::vector<int64_t> cu_host = {0};
    std::vector<int32_t> len;
    int64_t longest = 0;
    for (int b = 0; b < s.B; ++b) {
      const int64_t l = s.cu_seqlens[b + 1] - s.cu_seqlens[b];
      if (l == 0) continue;
      cu_host.push_back(s.cu_seqlens[b + 1]);
      len.push_back(int32_t(l));
      longest = std::max(longest, l);
    }
    N = s.cu_seqlens[s.B];
    if (N == 0) return;
    const int64_t B = int64_t(len.size());
    const float scale = s.scale != 0.0f ? s.scale : 1.0f / std::sqrt(float(s.HS));
    key = {B, (longest + kPadTo - 1) / kPadTo * kPadTo, s.NH, s.HS, s.causal, backward, scale, drop.p};
    cu = CudaBuffer(cu_host.size() * sizeof(int64_t));
    lengths = CudaBuffer(len.size() * sizeof(int32_t));
    CUDA_CHECK(cudaMemcpy(cu.as<void>(), cu_host.data(), cu_host.size() * sizeof(int64_t), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(lengths.as<void>(), len.data(), len.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
    if (drop.p > 0.0f) {
      const int64_t sd = int64_t(drop.seed), off = 0;
      seed = CudaBuffer(sizeof(int64_t));
      offset = CudaBuffer(sizeof(int64_t));
      CUDA_CHECK(cudaMemcpy(seed.as<void>(), &sd, sizeof sd, cudaMemcpyHostToDevice));
      CUDA_CHECK(cudaMemcpy(offset.as<void>(), &off, sizeof off, cudaMemcpyHostToDevice));
    }
  }

  int64_t padded_elems(int64_t width) const { return key.B * key.S * width; }
  // Scratch for a (B, S, width) bf16 tensor and for cuDNN's (B, H, S) stats.
  CudaBuffer padded_buffer(int64_t width) const {
    return CudaBuffer(size_t(padded_elems(width)) * sizeof(__nv_bfloat16));
  }
  CudaBuffer stats_buffer() const { return CudaBuffer(size_t(key.B * key.H * key.S) * sizeof(float)); }

  // The packed rows of src (N, width) in a new (B, S, width) buffer.
  CudaBuffer padded(const __nv_bfloat16* src, int64_t width) const {
    CudaBuffer dst = padded_buffer(width);
    const long long n = padded_elems(width);
    pad_rows_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(
        dst.as<__nv_bfloat16>(), src, cu.as<int64_t>(), key.B, key.S, width);
    CUDA_CHECK_LAUNCH(pad_rows_kernel);
    return dst;
  }
  template <bool kAccumulate>
  void unpad(__nv_bfloat16* dst, const __nv_bfloat16* src, int64_t width) const {
    const long long n = padded_elems(width);
    unpad_rows_kernel<kAccumulate><<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(
        dst, src, cu.as<int64_t>(), key.B, key.S, width);
    CUDA_CHECK_LAUNCH(unpad_rows_kernel);
  }
  void stats_to_lse(float* lse, const float* stats) const {
    const long long n = key.B * key.H * key.S;
    stats_to_lse_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(lse, stats, cu.as<int64_t>(),
                                                                               key.B, key.H, key.S);
    CUDA_CHECK_LAUNCH(stats_to_lse_kernel);
  }
  void lse_to_stats(float* stats, const float* lse) const {
    const long long n = key.B * key.H * key.S;
    lse_to_stats_kernel<<<grid_for(n, kThreads), kThreads, 0, cuda_stream()>>>(stats, lse, cu.as<int64_t>(),
                                                                               key.B, key.H, key.S);
    CUDA_CHECK_LAUNCH(lse_to_stats_kernel);
  }

  void execute(const Graph& g, std::unordered_map<int64_t, void*>& pack, const char* op) const {
    pack[kSeqQ] = lengths.as<void>();
    pack[kSeqKV] = lengths.as<void>();
    if (key.p > 0.0f) {
      pack[kSeed] = seed.as<void>();
      pack[kOffset] = offset.as<void>();
    }
    int64_t ws_bytes = 0;
    check(g->get_workspace_size(ws_bytes), op, "workspace size");
    CudaBuffer ws(size_t(std::max<int64_t>(ws_bytes, 1)));
    check(g->execute(handle(op), pack, ws.as<void>()), op, "running the graph");
  }
};

__nv_bfloat16* bf(bf16* p) { return reinterpret_cast<__nv_bfloat16*>(p); }
const __nv_bfloat16* bf(const bf16* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }

}  // namespace

bool cudnn_attention_available_cuda(std::string* why) {
  const Runtime& rt = runtime();
  if (why) *why = rt.error;
  return rt.error.empty();
}

void attention_forward_cudnn(bf16* out, float* lse, const bf16* qkv, const AttentionShape& s,
                             const DropoutSpec& drop) {
  const char* op = "attention_forward";
  cuda_require(op);
  Call c(op, s, drop, false);
  if (c.N == 0) return;
  const int64_t C = int64_t(s.NH) * s.HS;
  const Graph g = graph_for(c.key, op);
  const CudaBuffer P = c.padded(bf(qkv), 3 * C), O = c.padded_buffer(C), stats = c.stats_buffer();
  __nv_bfloat16* p = P.as<__nv_bfloat16>();
  std::unordered_map<int64_t, void*> pack = {
      {kQ, p}, {kK, p + C}, {kV, p + 2 * C}, {kO, O.as<void>()}, {kStats, stats.as<void>()}};
  c.execute(g, pack, op);
  c.unpad<false>(bf(out), O.as<__nv_bfloat16>(), C);
  c.stats_to_lse(lse, stats.as<float>());
}

void attention_backward_cudnn(bf16* dqkv, const bf16* dout, const bf16* qkv, const bf16* out,
                              const float* lse, const AttentionShape& s, const DropoutSpec& drop) {
  const char* op = "attention_backward";
  cuda_require(op);
  Call c(op, s, drop, true);
  if (c.N == 0) return;
  const int64_t C = int64_t(s.NH) * s.HS;
  const Graph g = graph_for(c.key, op);
  const CudaBuffer P = c.padded(bf(qkv), 3 * C), O = c.padded(bf(out), C), dO = c.padded(bf(dout), C),
                   dP = c.padded_buffer(3 * C), stats = c.stats_buffer();
  __nv_bfloat16 *p = P.as<__nv_bfloat16>(), *dp = dP.as<__nv_bfloat16>();
  c.lse_to_stats(stats.as<float>(), lse);
  std::unordered_map<int64_t, void*> pack = {{kQ, p},
                                             {kK, p + C},
                                             {kV, p + 2 * C},
                                             {kO, O.as<void>()},
                                             {kdO, dO.as<void>()},
                                             {kStats, stats.as<void>()},
                                             {kdQ, dp},
                                             {kdK, dp + C},
                                             {kdV, dp + 2 * C}};
  c.execute(g, pack, op);
  c.unpad<true>(bf(dqkv), dp, 3 * C);
}

#else  // built without the cuDNN frontend headers

bool cudnn_attention_available_cuda(std::string* why) {
  if (why)
    *why = "built without the cuDNN frontend headers (tools/install-deps.sh fetches them; reconfigure)";
  return false;
}

void attention_forward_cudnn(bf16*, float*, const bf16*, const AttentionShape&, const DropoutSpec&) {
  SEQ_FAIL("attention_forward (cudnn backend): built without the cuDNN frontend headers");
}

void attention_backward_cudnn(bf16*, const bf16*, const bf16*, const bf16*, const float*,
                              const AttentionShape&, const DropoutSpec&) {
  SEQ_FAIL("attention_backward (cudnn backend): built without the cuDNN frontend headers");
}

#endif

}  // namespace seqmend
