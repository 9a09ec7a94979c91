#include "kernels/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <tuple>

#ifdef SEQMEND_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

#include "core/base/error.h"

extern "C" char* openblas_get_corename(void);

namespace seqmend {
namespace {

GemmPath initial_path() {
  const char* env = std::getenv("SEQMEND_GEMM");
  const std::string want = env ? env : "auto";
  if (want == "openblas") return GemmPath::openblas;
  if (want == "onednn") {
    SEQ_CHECK(gemm_path_available(GemmPath::onednn),
              "SEQMEND_GEMM=onednn, but this build has no oneDNN (install libdnnl-dev and rebuild)");
    return GemmPath::onednn;
  }
  SEQ_CHECK(want == "auto" || want.empty(), "SEQMEND_GEMM='", want, "': expected auto, onednn or openblas");
  return gemm_path_available(GemmPath::onednn) ? GemmPath::onednn : GemmPath::openblas;
}

std::atomic<int>& path_slot() {
  static std::atomic<int> slot{int(initial_path())};
  return slot;
}

// gemm_count's state: integer atomics, so concurrent calls add without a lock.
struct CountSlot {
  std::atomic<int64_t> calls{0}, flops{0}, ns{0};
  void reset() { calls = 0, flops = 0, ns = 0; }
  GemmCount read() const {
    return {calls.load(), double(flops.load()), double(ns.load()) * 1e-9};
  }
};
std::atomic<bool> g_counting{false};
CountSlot g_count_f32, g_count_bf16;

// Adds the enclosing call's time and flops to its slot when counting is on.
class CountScope {
 public:
  CountScope(CountSlot& slot, int M, int N, int K)
      : slot_(g_counting.load(std::memory_order_relaxed) ? &slot : nullptr) {
    if (!slot_) return;
    flops_ = 2 * int64_t(M) * N * K;
    t0_ = std::chrono::steady_clock::now();
  }
  ~CountScope() {
    if (!slot_) return;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0_);
    slot_->calls.fetch_add(1, std::memory_order_relaxed);
    slot_->flops.fetch_add(flops_, std::memory_order_relaxed);
    slot_->ns.fetch_add(int64_t(ns.count()), std::memory_order_relaxed);
  }

 private:
  CountSlot* slot_;
  int64_t flops_ = 0;
  std::chrono::steady_clock::time_point t0_;
};

#ifdef SEQMEND_WITH_ONEDNN
// oneDNN threads a call made outside a parallel region over omp_get_max_threads(); a block's
// product must stay on its one thread (and its bits independent of the team), so the team size
// seen by the call is lowered to 1 around it.
class OneThread {
 public:
  OneThread() : saved_(omp_in_parallel() ? 0 : omp_get_max_threads()) {
    if (saved_ > 1) omp_set_num_threads(1);
  }
  ~OneThread() {
    if (saved_ > 1) omp_set_num_threads(saved_);
  }

 private:
  int saved_;
};
#endif

#ifdef SEQMEND_WITH_ONEDNN
void dnnl_ok(dnnl_status_t st, const char* what) {
  SEQ_CHECK(st == dnnl_success, "gemm: oneDNN ", what, " failed with status ", int(st));
}

// One bf16 matmul primitive per shape, per thread: making one costs about as much as running a
// block's product, and the kernels call the same few shapes over and over.
struct Bf16Matmul {
  dnnl_primitive_t prim = nullptr;
  dnnl_memory_t a = nullptr, b = nullptr, c = nullptr;
};

struct Bf16Context {
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  std::map<std::tuple<bool, bool, int, int, int, int, int, int, float, float>, Bf16Matmul> cache;
  Bf16Context() {
    dnnl_ok(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine_create");
    dnnl_ok(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "stream_create");
  }
  ~Bf16Context() {
    for (auto& [key, m] : cache) {
      dnnl_memory_destroy(m.a);
      dnnl_memory_destroy(m.b);
      dnnl_memory_destroy(m.c);
      dnnl_primitive_destroy(m.prim);
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
  }
  Bf16Matmul& get(bool ta, bool tb, int M, int N, int K, int lda, int ldb, int ldc, float alpha, float beta) {
    auto key = std::make_tuple(ta, tb, M, N, K, lda, ldb, ldc, alpha, beta);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    // Transposes and leading dimensions are strides of plain 2-D descriptors.
    dnnl_memory_desc_t a_md, b_md, c_md;
    const dnnl_dims_t a_dims = {M, K}, b_dims = {K, N}, c_dims = {M, N};
    const dnnl_dims_t a_str = {ta ? 1 : lda, ta ? lda : 1}, b_str = {tb ? 1 : ldb, tb ? ldb : 1}, c_str = {ldc, 1};
    dnnl_ok(dnnl_memory_desc_init_by_strides(&a_md, 2, a_dims, dnnl_bf16, a_str), "memory_desc A");
    dnnl_ok(dnnl_memory_desc_init_by_strides(&b_md, 2, b_dims, dnnl_bf16, b_str), "memory_desc B");
    dnnl_ok(dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_str), "memory_desc C");
    dnnl_matmul_desc_t md;
    dnnl_ok(dnnl_matmul_desc_init(&md, &a_md, &b_md, nullptr, &c_md), "matmul_desc_init");
    dnnl_primitive_attr_t attr;
    dnnl_ok(dnnl_primitive_attr_create(&attr), "attr_create");
    if (alpha != 1.0f) dnnl_ok(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "output_scales");
    dnnl_post_ops_t po = nullptr;
    if (beta != 0.0f) {
      dnnl_ok(dnnl_post_ops_create(&po), "post_ops_create");
      dnnl_ok(dnnl_post_ops_append_sum(po, beta), "post_ops_append_sum");
      dnnl_ok(dnnl_primitive_attr_set_post_ops(attr, po), "set_post_ops");
    }
    dnnl_primitive_desc_t pd;
    const dnnl_status_t st = dnnl_primitive_desc_create(&pd, &md, attr, engine, nullptr);
    if (po) dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    dnnl_ok(st, "bf16 matmul primitive_desc_create");
    Bf16Matmul m;
    dnnl_ok(dnnl_primitive_create(&m.prim, pd), "primitive_create");
    dnnl_primitive_desc_destroy(pd);
    dnnl_ok(dnnl_memory_create(&m.a, &a_md, engine, DNNL_MEMORY_NONE), "memory_create A");
    dnnl_ok(dnnl_memory_create(&m.b, &b_md, engine, DNNL_MEMORY_NONE), "memory_create B");
    dnnl_ok(dnnl_memory_create(&m.c, &c_md, engine, DNNL_MEMORY_NONE), "memory_create C");
    return cache.emplace(key, m).first->second;
  }
};
#endif

bool cpu_flag(const std::string& flags, const char* f) {
  const std::string needle = std::string(" ") + f + " ";
  return (" " + flags + " ").find(needle) != std::string::npos;
}

std::string cpuinfo_field(const char* key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "";
}

}  // namespace

void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  CountScope count(g_count_f32, M, N, K);
#ifdef SEQMEND_WITH_ONEDNN
  if (gemm_path() == GemmPath::onednn) {
    OneThread one;
    const dnnl_status_t st =
        dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    SEQ_CHECK(st == dnnl_success, "gemm: oneDNN sgemm failed with status ", int(st), " (M=", M, " N=", N,
              " K=", K, ")");
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
              B, ldb, beta, C, ldc);
}

void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const bf16* A, int lda, const bf16* B, int ldb,
          float beta, float* C, int ldc) {
  SEQ_CHECK(gemm_bf16_native(), "gemm: native bf16 products need oneDNN and a CPU with AVX512-BF16 or AMX");
  if (M == 0 || N == 0) return;
  CountScope count(g_count_bf16, M, N, K);
#ifdef SEQMEND_WITH_ONEDNN
  if (K == 0) {  // a matmul primitive needs K > 0; the product is empty
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) C[size_t(m) * ldc + n] *= beta;
    return;
  }
  thread_local Bf16Context ctx;
  Bf16Matmul& mm = ctx.get(ta, tb, M, N, K, lda, ldb, ldc, alpha, beta);
  dnnl_ok(dnnl_memory_set_data_handle(mm.a, const_cast<bf16*>(A)), "set A");
  dnnl_ok(dnnl_memory_set_data_handle(mm.b, const_cast<bf16*>(B)), "set B");
  dnnl_ok(dnnl_memory_set_data_handle(mm.c, C), "set C");
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, mm.a}, {DNNL_ARG_WEIGHTS, mm.b}, {DNNL_ARG_DST, mm.c}};
  OneThread one;
  dnnl_ok(dnnl_primitive_execute(mm.prim, ctx.stream, 3, args), "bf16 matmul execute");
  dnnl_ok(dnnl_stream_wait(ctx.stream), "stream_wait");
#else
  (void)ta, (void)tb, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb, (void)beta, (void)C, (void)ldc;
#endif
}

bool gemm_bf16_native() {
  if (gemm_path() != GemmPath::onednn) return false;
  static const bool native = [] {
    const std::string isa = cpu_isa();
    return isa == "avx512_bf16" || isa == "amx";
  }();
  return native;
}

void gemm_count(bool on) {
  g_count_f32.reset();
  g_count_bf16.reset();
  g_counting.store(on);
}

GemmCounters gemm_counters() { return {g_count_f32.read(), g_count_bf16.read()}; }

GemmPath gemm_path() { return GemmPath(path_slot().load(std::memory_order_relaxed)); }

void set_gemm_path(GemmPath path) {
  SEQ_CHECK(gemm_path_available(path), "gemm: the ", gemm_path_name(path), " path is not built in");
  path_slot().store(int(path));
}

bool gemm_path_available(GemmPath path) {
#ifdef SEQMEND_WITH_ONEDNN
  return true;
#else
  return path == GemmPath::openblas;
#endif
}

const char* gemm_path_name(GemmPath path) { return path == GemmPath::onednn ? "onednn" : "openblas"; }

std::string cpu_model_name() { return cpuinfo_field("model name"); }

std::string cpu_isa() {
  const std::string flags = cpuinfo_field("flags");
  if (cpu_flag(flags, "amx_bf16")) return "amx";
  if (cpu_flag(flags, "avx512_bf16")) return "avx512_bf16";
  if (cpu_flag(flags, "avx512f")) return "avx512";
  if (cpu_flag(flags, "avx2")) return "avx2";
  if (cpu_flag(flags, "sse4_2")) return "sse4.2";
  return "baseline";
}

std::string blas_core() {
  const char* c = openblas_get_corename();
  return c ? c : "";
}

std::string gemm_warning() {
  if (gemm_path() != GemmPath::openblas) return "";
  const std::string core = blas_core(), isa = cpu_isa();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Nehalem" || core == "generic";
  if (!generic || isa == "sse4.2" || isa == "baseline") return "";
  return "OpenBLAS runs its generic '" + core + "' kernels on this " + isa + " CPU (slow GEMMs): " +
         (gemm_path_available(GemmPath::onednn) ? "leave SEQMEND_GEMM unset to use oneDNN"
                                                : "build with oneDNN (libdnnl-dev)") +
         ", or set OPENBLAS_CORETYPE (e.g. Haswell, SkylakeX)";
}

}  // namespace seqmend
