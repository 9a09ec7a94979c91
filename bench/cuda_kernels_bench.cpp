// Times every CUDA op at training-step sizes on the GPU it runs on: milliseconds per call (median
// of timed repeats after warm-up, CUDA events), effective memory bandwidth (bytes the op must move
// at least) and arithmetic rate. A plain program, not Google Benchmark: it runs inside the device
// bundle (tools/make-device-bundle.sh) on a machine without the benchmark library.
//   bench_cuda_kernels [out.tsv]   → the table on stdout, and the same rows as TSV in out.tsv,
//                                    written row by row
// Columns: kernel, shape, ms, GB/s, TFLOP/s (0 where not meaningful). A group of rows that fails
// becomes one row "FAILED: why" and the others still run (exit 1 at the end).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "core/base/rng.h"
#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/device.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/focal_loss.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/softmax_xent.h"

namespace seqmend {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "bench_cuda_kernels: %s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

// Device arrays filled on the host with values in [lo, hi).
struct Arrays {
  std::vector<void*> ptrs;
  Rng rng{12345, 1};
  ~Arrays() {
    for (void* p : ptrs) cudaFree(p);
  }
  float* f(int64_t n, float lo = -1.0f, float hi = 1.0f) {
    std::vector<float> h(size_t(std::max<int64_t>(n, 1)));
    for (auto& x : h) x = lo + (hi - lo) * rng.uniform();
    return put(h);
  }
  int32_t* ids(int64_t n, int64_t lo, int64_t hi) {
    std::vector<int32_t> h(size_t(std::max<int64_t>(n, 1)));
    for (auto& x : h) x = int32_t(lo + int64_t(rng.below(uint64_t(hi - lo))));
    return put(h);
  }
  bf16* b16(int64_t n, float lo = -1.0f, float hi = 1.0f) {
    std::vector<bf16> h(size_t(std::max<int64_t>(n, 1)));
    for (auto& x : h) x = to_bf16(lo + (hi - lo) * rng.uniform());
    return put(h);
  }
  uint64_t* keys(int64_t n) {
    std::vector<uint64_t> h(size_t(std::max<int64_t>(n, 1)));
    for (auto& x : h) x = rng.next_u64();
    return put(h);
  }
  template <typename T>
  T* put(const std::vector<T>& h) {
    void* p = nullptr;
    check(cudaMalloc(&p, h.size() * sizeof(T)), "cudaMalloc");
    check(cudaMemcpy(p, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
    ptrs.push_back(p);
    return static_cast<T*>(p);
  }
};

struct Line {
  std::string kernel, shape;
  double ms, gbs, tflops;
};
std::vector<Line> lines;

// Median time of fn over `reps` calls after `warm` calls.
double time_ms(const std::function<void()>& fn, int warm = 3, int reps = 20) {
  for (int i = 0; i < warm; ++i) fn();
  check(cudaDeviceSynchronize(), "warm-up");
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  std::vector<float> t;
  for (int i = 0; i < reps; ++i) {
    cudaEventRecord(a, 0);
    fn();
    cudaEventRecord(b, 0);
    check(cudaEventSynchronize(b), "timed call");
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Rows go to the TSV as they are measured, so a run stopped by a timeout keeps everything before.
FILE* tsv = nullptr;
int failures = 0;

void record(const std::string& k, const std::string& shape, double ms, double bytes, double flops) {
  lines.push_back({k, shape, ms, bytes / (ms * 1e-3) / 1e9, flops / (ms * 1e-3) / 1e12});
  const Line& l = lines.back();
  std::printf("%-24s %-34s %10.4f ms %9.1f GB/s %8.2f TFLOP/s\n", l.kernel.c_str(), l.shape.c_str(), l.ms, l.gbs,
              l.tflops);
  std::fflush(stdout);
  if (tsv) {
    std::fprintf(tsv, "%s\t%s\t%.5f\t%.2f\t%.4f\n", l.kernel.c_str(), l.shape.c_str(), l.ms, l.gbs, l.tflops);
    std::fflush(tsv);
  }
}

// One group of rows: a failure (a cuDNN graph that does not build, an allocation) becomes a row
// saying why, and the next group still runs.
void group(const std::string& name, const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    cudaGetLastError();
    ++failures;
    std::printf("%-24s FAILED: %s\n", name.c_str(), e.what());
    std::fflush(stdout);
    if (tsv) {
      std::fprintf(tsv, "%s\tFAILED: %s\tnan\tnan\tnan\n", name.c_str(), e.what());
      std::fflush(tsv);
    }
  }
}

void bench_all() {
  const Device D = Device::CUDA;
  Arrays A;
  // Training-step sizes: B 128 × T 200 tokens, C 256, 4 heads, vocabulary 100k.
  const int64_t N = 25600;
  const int C = 256, OC = 3 * C;
  group("matmul_forward", [&] {
    float *out = A.f(N * OC), *inp = A.f(N * C), *w = A.f(int64_t(OC) * C), *b = A.f(OC);
    const std::string s = "N25600 C256 OC768";
    double ms = time_ms([&] { matmul_forward(D, out, inp, w, b, N, C, OC); });
    record("matmul_forward", s, ms, 4.0 * (N * C + N * OC + OC * C), 2.0 * N * C * OC);
    float *dinp = A.f(N * C), *dw = A.f(int64_t(OC) * C), *db = A.f(OC);
    ms = time_ms([&] { matmul_backward(D, dinp, dw, db, out, inp, w, N, C, OC); });
    record("matmul_backward", s, ms, 4.0 * (2 * N * C + N * OC + 2 * OC * C), 4.0 * N * C * OC);
  });
  group("layernorm_forward", [&] {
    float *out = A.f(N * C), *mean = A.f(N), *rstd = A.f(N), *inp = A.f(N * C), *w = A.f(C), *b = A.f(C);
    const std::string s = "N25600 C256";
    double ms = time_ms([&] { layernorm_forward(D, out, mean, rstd, inp, w, b, N, C, 1e-5f); });
    record("layernorm_forward", s, ms, 4.0 * 2 * N * C, 0);
    float *dinp = A.f(N * C), *dw = A.f(C), *db = A.f(C);
    ms = time_ms([&] { layernorm_backward(D, dinp, dw, db, out, inp, w, mean, rstd, N, C); });
    record("layernorm_backward", s, ms, 4.0 * 4 * N * C, 0);
  });
  group("gelu_forward", [&] {
    const int64_t n = N * 4 * C;
    float *out = A.f(n), *inp = A.f(n), *d = A.f(n);
    const std::string s = "n" + std::to_string(n);
    record("gelu_forward", s, time_ms([&] { gelu_forward(D, out, inp, n); }), 8.0 * n, 0);
    record("gelu_backward", s, time_ms([&] { gelu_backward(D, d, inp, out, n); }), 16.0 * n, 0);
    uint64_t* keys = A.keys(N * 4);
    record("dropout_forward", s + " p0.1", time_ms([&] {
             dropout_forward(D, out, inp, keys, N * 4, C, {0.1f, 7});
           }),
           8.0 * n, 0);
    record("add_inplace", s, time_ms([&] { add_inplace(D, out, inp, n); }), 12.0 * n, 0);
    record("sum_squares", s, time_ms([&] { (void)sum_squares(D, inp, n); }), 4.0 * n, 0);
  });
  group("embedding_forward", [&] {
    const int64_t V = 100002;
    float *out = A.f(N * C), *table = A.f(V * C), *dtable = A.f(V * C);
    int32_t* ids = A.ids(N, 0, V);
    const std::string s = "N25600 C256 V100002";
    record("embedding_forward", s, time_ms([&] { embedding_forward(D, out, ids, table, N, C, V, false); }), 8.0 * N * C,
           0);
    record("embedding_backward", s, time_ms([&] { embedding_backward(D, dtable, out, ids, N, C, V); }), 12.0 * N * C,
           0);
    // The action and gap tables of a real batch: every row carries one id, a single run of N rows.
    int32_t* same = A.ids(N, 0, 1);
    record("embedding_backward", "N25600 C256 V4 one id", time_ms([&] {
             embedding_backward(D, dtable, out, same, N, C, 4);
           }),
           12.0 * N * C, 0);
  });
  group("adamw_update", [&] {
    const int64_t n = 30'000'000;  // ≈ a 30M-parameter model
    float *p = A.f(n), *g = A.f(n), *m = A.f(n), *v = A.f(n, 0.0f, 1e-3f);
    AdamWArgs a;
    a.weight_decay = 0.01;
    record("adamw_update", "n30000000", time_ms([&] { adamw_update(D, p, g, m, v, n, a); }), 4.0 * 7 * n, 0);
  });
  group("copy", [&] {
    // The GPU's copy bandwidth, the yardstick of the memory-bound kernels (bytes read + written).
    const int64_t n = 40'000'000;
    float *src = A.f(n), *dst = A.f(n);
    record("copy", "n40000000 device to device", time_ms([&] {
             check(cudaMemcpyAsync(dst, src, size_t(n) * sizeof(float), cudaMemcpyDeviceToDevice, 0),
                   "cudaMemcpyAsync");
           }),
           8.0 * n, 0);
  });
  group("sigmoid_focal_loss", [&] {
    const int64_t n = 10'000'000;
    float *x = A.f(n, -10, 10), *y = A.f(n, 0, 1), *d = A.f(n);
    FocalArgs f;
    f.logits = x;
    f.targets = y;
    f.n = n;
    record("sigmoid_focal_loss", "n10000000 fwd+bwd", time_ms([&] { (void)sigmoid_focal_loss(D, f, d, 1.0f); }),
           4.0 * 4 * n, 0);
  });
  group("softmax_xent", [&] {
    for (int64_t V : {int64_t(100000), int64_t(1000000)}) {
      const int64_t M = 2560;
      float *hid = A.f(M * C), *table = A.f((V + 2) * C), *bias = A.f(V + 2);
      float *dh = A.f(M * C), *dt = A.f((V + 2) * C), *db = A.f(V + 2);
      int32_t* t = A.ids(M, 1, V + 1);
      XentArgs x;
      x.hidden = hid;
      x.table = table;
      x.bias = bias;
      x.targets = t;
      x.M = M;
      x.C = C;
      x.V = V;
      XentGrads g{dh, dt, db, 1.0f / float(M)};
      const double ms = time_ms([&] { (void)softmax_xent(D, x, g); }, 1, 5);
      record("softmax_xent", "M2560 C256 V" + std::to_string(V) + " fwd+bwd", ms, 4.0 * (3.0 * V * C + 2.0 * M * V),
             6.0 * M * V * C);
    }
  });
}

// Attention at B 128, T 200 (all sequences full, as the padded PyTorch baseline), heads 2–8, head
// size 32/64, f32 and bf16 activations; FLOPs = 4·B·NH·T²·HS forward (QKᵀ and PV), 2.5× that for
// backward; bytes = what the op must read and write at least (activations at their width, lse f32).
void bench_attention() {
  const Device D = Device::CUDA;
  const int B = 128, T = 200;
  for (int NH : {2, 4, 8}) {
    for (int HS : {32, 64}) {
      Arrays A;
      const int C = NH * HS;
      const int64_t N = int64_t(B) * T;
      std::vector<int64_t> cu(B + 1);
      for (int b = 0; b <= B; ++b) cu[size_t(b)] = int64_t(b) * T;
      AttentionShape s;
      s.B = B;
      s.NH = NH;
      s.HS = HS;
      s.cu_seqlens = cu.data();
      float *qkv = A.f(N * 3 * C), *out = A.f(N * C), *lse = A.f(N * NH), *dqkv = A.f(N * 3 * C), *dout = A.f(N * C);
      const double flops = 4.0 * B * NH * double(T) * T * HS;
      const std::string shape = "B128 T200 NH" + std::to_string(NH) + " HS" + std::to_string(HS);
      bf16 *qkv16 = A.b16(N * 3 * C), *out16 = A.b16(N * C), *dqkv16 = A.b16(N * 3 * C), *dout16 = A.b16(N * C);
      group("attention " + shape, [&] {
        const double fwd = time_ms([&] { attention_forward(D, out, lse, qkv, s, {}, nullptr); });
        record("attention_forward", shape, fwd, 4.0 * N * (3 * C + C + NH), flops);
        const double bwd = time_ms([&] { attention_backward(D, dqkv, dout, qkv, out, lse, s, {}, nullptr); });
        record("attention_backward", shape, bwd, 4.0 * N * (9 * C + NH), 2.5 * flops);

        const double fwd16 = time_ms([&] { attention_forward(D, out16, lse, qkv16, s, {}, nullptr); });
        record("attention_forward", shape + " bf16", fwd16, 2.0 * N * (3 * C + C) + 4.0 * N * NH, flops);
        const double bwd16 = time_ms([&] { attention_backward(D, dqkv16, dout16, qkv16, out16, lse, s, {}, nullptr); });
        record("attention_backward", shape + " bf16", bwd16, 2.0 * N * 9 * C + 4.0 * N * NH, 2.5 * flops);
      });

      // The same bf16 call on cuDNN's fused attention (AttentionBackend::cudnn): the bar's peer.
      std::string why;
      if (!cudnn_attention_available(&why)) {
        std::printf("attention cudnn backend unavailable: %s\n", why.c_str());
        continue;
      }
      group("attention cudnn " + shape, [&] {
        AttentionShape sc = s;
        sc.backend = AttentionBackend::cudnn;
        const double fwdc = time_ms([&] { attention_forward(D, out16, lse, qkv16, sc, {}, nullptr); });
        record("attention_forward", shape + " bf16 cudnn", fwdc, 2.0 * N * (3 * C + C) + 4.0 * N * NH, flops);
        const double bwdc = time_ms([&] { attention_backward(D, dqkv16, dout16, qkv16, out16, lse, sc, {}, nullptr); });
        record("attention_backward", shape + " bf16 cudnn", bwdc, 2.0 * N * 9 * C + 4.0 * N * NH, 2.5 * flops);
      });
    }
  }
}

}  // namespace
}  // namespace seqmend

int main(int argc, char** argv) {
  using namespace seqmend;
  if (cuda_device_count() == 0) {
    std::printf("bench_cuda_kernels: no usable GPU, nothing measured\n");
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  std::printf("device: %s (%d SMs)\n", prop.name, prop.multiProcessorCount);
  if (argc > 1) {
    tsv = std::fopen(argv[1], "w");
    if (!tsv) {
      std::perror(argv[1]);
      return 1;
    }
    std::fprintf(tsv, "kernel\tshape\tms\tGB/s\tTFLOP/s\n");
    std::fflush(tsv);
  }
  bench_all();
  bench_attention();
  if (tsv) std::fclose(tsv);
  if (failures > 0) {
    std::fprintf(stderr, "bench_cuda_kernels: %d group(s) failed (rows marked FAILED)\n", failures);
    return 1;
  }
  return 0;
}
