// The ops table's rows: each op of kernels/ on fresh random inputs at several shapes, for
// tests/cuda/ops_table_test.cpp to run on the CPU and on CUDA and compare. Adding an op = adding a
// row in make_table().
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kernels/adamw.h"
#include "kernels/attention.h"
#include "kernels/cast.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/focal_loss.h"
#include "kernels/gather_rows.h"
#include "kernels/gelu.h"
#include "kernels/layernorm.h"
#include "kernels/matmul.h"
#include "kernels/segment_mean.h"
#include "kernels/softmax_xent.h"
#include "ops_table.h"

namespace seqmend::ops_table {
namespace {

void add_matmul(std::vector<Row>& t, int64_t N, int C, int OC, bool bias,
                MatmulPrecision prec = MatmulPrecision::f32) {
  const std::string shape = std::to_string(N) + "x" + std::to_string(C) + "x" + std::to_string(OC) +
                            (bias ? "_bias" : "_nobias") + (prec == MatmulPrecision::bf16 ? "_bf16" : "");
  t.push_back({"matmul_forward_" + shape, [=](Mem& m) {
                 float* out = m.out(N * OC);
                 float* inp = m.in(N * C);
                 float* w = m.in(int64_t(OC) * C);
                 float* b = bias ? m.in(OC) : nullptr;
                 matmul_forward(m.dev(), out, inp, w, b, N, C, OC, prec);
                 m.result("out", out, N * OC);
               }});
  t.push_back({"matmul_backward_" + shape, [=](Mem& m) {
                 float* dinp = m.grad(N * C);
                 float* dw = m.grad(int64_t(OC) * C);
                 float* db = bias ? m.grad(OC) : nullptr;
                 float* dout = m.in(N * OC);
                 float* inp = m.in(N * C);
                 float* w = m.in(int64_t(OC) * C);
                 matmul_backward(m.dev(), dinp, dw, db, dout, inp, w, N, C, OC, prec);
                 m.result("dinp", dinp, N * C);
                 m.result("dweight", dw, int64_t(OC) * C);
                 if (db) m.result("dbias", db, OC);
               }});
}

// A bf16-precision model's GEMMs on operands already stored in bf16 (kernels/matmul.h): the f32
// outputs at f32's tolerance (both sides multiply the same bf16 values exactly), the optional bf16
// copy of out at one bf16 rounding (1e-2: an f32 sum next to a rounding boundary may round either way).
void add_matmul_stored_bf16(std::vector<Row>& t, int64_t N, int C, int OC) {
  const std::string shape = std::to_string(N) + "x" + std::to_string(C) + "x" + std::to_string(OC);
  t.push_back({"matmul_forward_stored_bf16_" + shape, [=](Mem& m) {
                 float* out = m.out(N * OC);
                 bf16* inp = m.in_bf16(N * C);
                 bf16* w = m.in_bf16(int64_t(OC) * C);
                 float* b = m.in(OC);
                 matmul_forward(m.dev(), out, inp, w, b, N, C, OC);
                 m.result("out", out, N * OC);
               }});
  t.push_back({"matmul_forward_stored_bf16_out16_" + shape, [=](Mem& m) {
                 float* out = m.out(N * OC);
                 bf16* out16 = m.out_bf16(N * OC);
                 bf16* inp = m.in_bf16(N * C);
                 bf16* w = m.in_bf16(int64_t(OC) * C);
                 matmul_forward(m.dev(), out, inp, w, nullptr, N, C, OC, out16);
                 m.result("out16", out16, N * OC);
               }, 1e-2});
  for (bool dout16 : {false, true})
    t.push_back({std::string("matmul_backward_stored_bf16_") + (dout16 ? "dout16_" : "") + shape, [=](Mem& m) {
                   float* dinp = m.grad(N * C);
                   float* dw = m.grad(int64_t(OC) * C);
                   float* db = m.grad(OC);
                   bf16* inp = m.in_bf16(N * C);
                   bf16* w = m.in_bf16(int64_t(OC) * C);
                   if (dout16)
                     matmul_backward(m.dev(), dinp, dw, db, m.in_bf16(N * OC), inp, w, N, C, OC);
                   else
                     matmul_backward(m.dev(), dinp, dw, db, m.in(N * OC), inp, w, N, C, OC);
                   m.result("dinp", dinp, N * C);
                   m.result("dweight", dw, int64_t(OC) * C);
                   m.result("dbias", db, OC);
                 }});
}

// LayerNorm and GELU writing bf16 (a bf16-precision model's GEMM inputs): one bf16 rounding of the
// f32 result, so 1e-2 (see add_matmul_stored_bf16).
void add_bf16_outputs(std::vector<Row>& t, int64_t N, int C) {
  const std::string shape = std::to_string(N) + "x" + std::to_string(C);
  t.push_back({"layernorm_forward_bf16_" + shape, [=](Mem& m) {
                 bf16* out = m.out_bf16(N * C);
                 float* mean = m.out(N);
                 float* rstd = m.out(N);
                 float* inp = m.in(N * C, -3.0f, 5.0f);
                 float* w = m.in(C);
                 float* b = m.in(C);
                 layernorm_forward(m.dev(), out, mean, rstd, inp, w, b, N, C, 1e-5f);
                 m.result("out", out, N * C);
                 m.result("mean", mean, N);
                 m.result("rstd", rstd, N);
               }, 1e-2});
  t.push_back({"gelu_forward_bf16_" + shape, [=](Mem& m) {
                 bf16* out = m.out_bf16(N * C);
                 gelu_forward(m.dev(), out, m.in(N * C, -6.0f, 6.0f), N * C);
                 m.result("out", out, N * C);
               }, 1e-2});
}

void add_layernorm(std::vector<Row>& t, int64_t N, int C) {
  const std::string shape = std::to_string(N) + "x" + std::to_string(C);
  t.push_back({"layernorm_forward_" + shape, [=](Mem& m) {
                 float* out = m.out(N * C);
                 float* mean = m.out(N);
                 float* rstd = m.out(N);
                 float* inp = m.in(N * C, -3.0f, 5.0f);
                 float* w = m.in(C);
                 float* b = m.in(C);
                 layernorm_forward(m.dev(), out, mean, rstd, inp, w, b, N, C, 1e-5f);
                 m.result("out", out, N * C);
                 m.result("mean", mean, N);
                 m.result("rstd", rstd, N);
               }});
  t.push_back({"layernorm_backward_" + shape, [=](Mem& m) {
                 // mean/rstd from the op's own forward on this device
                 float* out = m.out(N * C);
                 float* mean = m.out(N);
                 float* rstd = m.out(N);
                 float* inp = m.in(N * C, -3.0f, 5.0f);
                 float* w = m.in(C);
                 float* b = m.in(C);
                 layernorm_forward(m.dev(), out, mean, rstd, inp, w, b, N, C, 1e-5f);
                 float* dinp = m.grad(N * C);
                 float* dw = m.grad(C);
                 float* db = m.grad(C);
                 float* dout = m.in(N * C);
                 layernorm_backward(m.dev(), dinp, dw, db, dout, inp, w, mean, rstd, N, C);
                 m.result("dinp", dinp, N * C);
                 m.result("dweight", dw, C);
                 m.result("dbias", db, C);
               }});
}

void add_gelu(std::vector<Row>& t, int64_t n) {
  t.push_back({"gelu_forward_" + std::to_string(n), [=](Mem& m) {
                 float* out = m.out(n);
                 float* inp = m.in(n, -6.0f, 6.0f);
                 gelu_forward(m.dev(), out, inp, n);
                 m.result("out", out, n);
               }});
  t.push_back({"gelu_backward_" + std::to_string(n), [=](Mem& m) {
                 float* dinp = m.grad(n);
                 float* inp = m.in(n, -6.0f, 6.0f);
                 float* dout = m.in(n);
                 gelu_backward(m.dev(), dinp, inp, dout, n);
                 m.result("dinp", dinp, n);
               }});
}

void add_embedding(std::vector<Row>& t, int64_t N, int C, int64_t V) {
  const std::string shape = std::to_string(N) + "x" + std::to_string(C) + "_V" + std::to_string(V);
  for (bool acc : {false, true}) {
    t.push_back({std::string("embedding_forward_") + (acc ? "acc_" : "") + shape, [=](Mem& m) {
                   float* out = acc ? m.grad(N * C) : m.out(N * C);
                   int32_t* ids = m.ids(N, 0, V);
                   float* table = m.in(V * C);
                   embedding_forward(m.dev(), out, ids, table, N, C, V, acc);
                   m.result("out", out, N * C);
                 }});
  }
  t.push_back({"embedding_backward_" + shape, [=](Mem& m) {
                 float* dtable = m.grad(V * C);
                 float* dout = m.in(N * C);
                 int32_t* ids = m.ids(N, 0, V);
                 embedding_backward(m.dev(), dtable, dout, ids, N, C, V);
                 m.result("dtable", dtable, V * C);
               }});
}

void add_dropout(std::vector<Row>& t, int64_t N, int C, float p) {
  const std::string shape =
      std::to_string(N) + "x" + std::to_string(C) + "_p" + std::to_string(int(p * 100));
  t.push_back({"dropout_forward_" + shape, [=](Mem& m) {
                 float* out = m.out(N * C);
                 float* inp = m.in(N * C);
                 uint64_t* keys = m.keys(N);
                 dropout_forward(m.dev(), out, inp, keys, N, C, {p, 0x5eed});
                 m.result("out", out, N * C);
               }});
  t.push_back({"dropout_backward_" + shape, [=](Mem& m) {
                 float* dinp = m.grad(N * C);
                 float* dout = m.in(N * C);
                 uint64_t* keys = m.keys(N);
                 dropout_backward(m.dev(), dinp, dout, keys, N, C, {p, 0x5eed});
                 m.result("dinp", dinp, N * C);
               }});
}

void add_elementwise(std::vector<Row>& t, int64_t n) {
  const std::string s = std::to_string(n);
  t.push_back({"add_inplace_" + s, [=](Mem& m) {
                 float* x = m.in(n);
                 float* y = m.in(n);
                 add_inplace(m.dev(), x, y, n);
                 m.result("out", x, n);
               }});
  t.push_back({"scale_inplace_" + s, [=](Mem& m) {
                 float* x = m.in(n);
                 scale_inplace(m.dev(), x, n, -1.37f);
                 m.result("x", x, n);
               }});
  t.push_back({"fill_" + s, [=](Mem& m) {
                 float* x = m.out(n);
                 fill(m.dev(), x, n, 0.625f);
                 m.result("x", x, n);
               }});
  t.push_back({"sum_squares_" + s, [=](Mem& m) {
                 float* x = m.in(n, -3.0f, 3.0f);
                 m.scalar("sum", sum_squares(m.dev(), x, n));
               }});
  for (double max_norm : {0.0, 0.5, 1e9}) {
    t.push_back({"clip_global_norm_" + s + "_max" + std::to_string(int64_t(max_norm * 10)),
                 [=](Mem& m) {
                   float* x = m.in(n);
                   m.scalar("norm", clip_global_norm(m.dev(), x, n, max_norm));
                   m.result("x", x, n);
                 }});
  }
}

void add_adamw(std::vector<Row>& t, int64_t n, int64_t step, double wd) {
  t.push_back({"adamw_update_" + std::to_string(n) + "_step" + std::to_string(step) + "_wd" +
                   std::to_string(int(wd * 100)),
               [=](Mem& m) {
                 float* p = m.in(n);
                 float* g = m.in(n, -0.1f, 0.1f);
                 float* mm = m.in(n, -0.01f, 0.01f);
                 float* v = m.in(n, 1e-6f, 1e-3f);
                 AdamWArgs a;
                 a.lr = 3e-3;
                 a.weight_decay = wd;
                 a.step = step;
                 adamw_update(m.dev(), p, g, mm, v, n, a);
                 m.result("param", p, n);
                 m.result("m", mm, n);
                 m.result("v", v, n);
               }});
}

void add_focal(std::vector<Row>& t, int64_t n, float alpha, float gamma, bool weighted) {
  const std::string s = std::to_string(n) + "_a" + std::to_string(int(alpha * 100)) + "_g" +
                        std::to_string(int(gamma * 10)) + (weighted ? "_w" : "");
  t.push_back({"sigmoid_focal_loss_" + s, [=](Mem& m) {
                 float* logits = m.in(n, -40.0f, 40.0f);
                 // hard targets with some soft ones
                 std::vector<float> y(static_cast<size_t>(n));
                 for (int64_t i = 0; i < n; ++i) {
                   const float u = m.rng().uniform();
                   y[size_t(i)] = i % 7 == 3 ? u : (u < 0.5f ? 0.0f : 1.0f);
                 }
                 float* targets = m.upload(y);
                 float* w = weighted ? m.in(n, 0.0f, 2.0f) : nullptr;
                 float* dl = m.grad(n);
                 FocalArgs a;
                 a.logits = logits;
                 a.targets = targets;
                 a.weights = w;
                 a.n = n;
                 a.alpha = alpha;
                 a.gamma = gamma;
                 m.scalar("loss", sigmoid_focal_loss(m.dev(), a, dl, 0.5f));
                 m.result("dlogits", dl, n);
               }});
}

// bf16: the three products on bf16-rounded operands (XentArgs::prec); the logits' gradient is
// rounded to bf16 before its products, so an element next to a rounding boundary may differ by one
// bf16 ulp between devices: 1e-2 for the row (the loss included).
void add_xent(std::vector<Row>& t, int64_t M, int C, int64_t V, bool grad,
              MatmulPrecision prec = MatmulPrecision::f32) {
  const bool bf = prec == MatmulPrecision::bf16;
  const std::string s = std::to_string(M) + "x" + std::to_string(C) + "_V" + std::to_string(V) +
                        (grad ? "_grad" : "") + (bf ? "_bf16" : "");
  t.push_back({"softmax_xent_" + s, [=](Mem& m) {
                 const int64_t rows = V + 2;  // padding row 0, items, mask token
                 float* hidden = m.in(M * C, -2.0f, 2.0f);
                 float* table = m.in(rows * C);
                 float* bias = m.in(rows, -0.5f, 0.5f);
                 int32_t* targets = m.ids(M, 1, 1 + V);
                 XentArgs a;
                 a.hidden = hidden;
                 a.table = table;
                 a.bias = bias;
                 a.targets = targets;
                 a.M = M;
                 a.C = C;
                 a.V = V;
                 a.first = 1;
                 a.chunk_rows = 64;
                 a.prec = prec;
                 XentGrads g;
                 if (grad) {
                   g.dhidden = m.grad(M * C);
                   g.dtable = m.grad(rows * C);
                   g.dbias = m.grad(rows);
                   g.scale = 1.0f / float(M);
                 }
                 m.scalar("loss", softmax_xent(m.dev(), a, g));
                 if (grad) {
                   m.result("dhidden", g.dhidden, M * C);
                   m.result("dtable", g.dtable, rows * C);
                   m.result("dbias", g.dbias, rows);
                 }
               }, bf ? 1e-2 : 1e-5});
}

// R distinct rows of N in a shuffled order (the same on every device: drawn from the row's Rng).
std::vector<int64_t> distinct_rows(Mem& m, int64_t R, int64_t N) {
  std::vector<int64_t> all(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) all[size_t(i)] = i;
  for (int64_t i = 0; i < R; ++i)
    std::swap(all[size_t(i)], all[size_t(i + int64_t(m.rng().below(uint64_t(N - i))))]);
  all.resize(size_t(R));
  return all;
}

void add_gather_rows(std::vector<Row>& t, int64_t R, int C, int64_t N) {
  const std::string shape = std::to_string(R) + "of" + std::to_string(N) + "x" + std::to_string(C);
  t.push_back({"gather_rows_" + shape, [=](Mem& m) {
                 float* dst = m.out(R * C);
                 float* src = m.in(N * C);
                 const int64_t* rows = m.upload(distinct_rows(m, R, N));
                 gather_rows(m.dev(), dst, src, rows, R, C, N);
                 m.result("dst", dst, R * C);
               }});
  t.push_back({"scatter_rows_" + shape, [=](Mem& m) {
                 float* dst = m.grad(N * C);  // rows not scattered to must keep these values
                 float* src = m.in(R * C);
                 const int64_t* rows = m.upload(distinct_rows(m, R, N));
                 scatter_rows(m.dev(), dst, src, rows, R, C, N);
                 m.result("dst", dst, N * C);
               }});
}

// Sequences of the given lengths packed into (N, C) rows.
void add_segment_mean(std::vector<Row>& t, std::vector<int64_t> lens, int C) {
  std::vector<int64_t> cu(lens.size() + 1, 0);
  for (size_t b = 0; b < lens.size(); ++b) cu[b + 1] = cu[b] + lens[b];
  const int64_t B = int64_t(lens.size()), N = cu.back();
  std::string shape = "B" + std::to_string(B) + "_C" + std::to_string(C);
  if (lens.size() > 8)  // a long list of lengths: name the first only
    shape += "_from" + std::to_string(lens[0]);
  else
    for (int64_t l : lens) shape += "_" + std::to_string(l);
  t.push_back({"segment_mean_forward_" + shape, [=](Mem& m) {
                 float* out = m.out(B * C);
                 float* inp = m.in(N * C);
                 segment_mean_forward(m.dev(), out, inp, m.upload(cu), B, C);
                 m.result("out", out, B * C);
               }});
  t.push_back({"segment_mean_backward_" + shape, [=](Mem& m) {
                 float* dinp = m.grad(N * C);
                 float* dout = m.in(B * C);
                 segment_mean_backward(m.dev(), dinp, dout, m.upload(cu), B, C);
                 m.result("dinp", dinp, N * C);
               }});
}

// Attention rows in f32 (tolerance 1e-5) or bf16 (T = bf16: the CPU twin does f32 arithmetic on the
// same bf16 inputs, so outputs may differ by one bf16 rounding: 1e-2), on either CUDA backend.
template <typename T>
void add_attention(std::vector<Row>& t, std::vector<int64_t> lens, int NH, int HS, bool causal,
                   float p, AttentionBackend backend = AttentionBackend::seqmend) {
  constexpr bool kBf16 = std::is_same_v<T, bf16>;
  const bool cudnn = backend == AttentionBackend::cudnn;
  std::string s = std::string(cudnn ? "cudnn_" : "") + "B" + std::to_string(lens.size()) + "_NH" +
                  std::to_string(NH) + "_HS" + std::to_string(HS) + (causal ? "_causal" : "") + "_p" +
                  std::to_string(int(p * 100));
  for (int64_t l : lens) s += "_" + std::to_string(l);
  std::vector<int64_t> cu(lens.size() + 1, 0);
  for (size_t b = 0; b < lens.size(); ++b) cu[b + 1] = cu[b] + lens[b];
  const int64_t N = cu.back();
  const int C = NH * HS;
  auto shape = [=](const std::vector<int64_t>& cu_host) {
    AttentionShape sh;
    sh.B = int(lens.size());
    sh.NH = NH;
    sh.HS = HS;
    sh.causal = causal;
    sh.cu_seqlens = cu_host.data();
    sh.backend = backend;
    return sh;
  };
  auto in = [](Mem& m, int64_t n, float lo, float hi) -> T* {
    if constexpr (kBf16) return m.in_bf16(n, lo, hi);
    else return m.in(n, lo, hi);
  };
  auto out = [](Mem& m, int64_t n) -> T* {
    if constexpr (kBf16) return m.out_bf16(n);
    else return m.out(n);
  };
  const std::string kind = kBf16 ? "attention_bf16_" : "attention_";
  // cuDNN's fused kernel is flash attention: it rounds the probabilities to bf16 before P·V (and dS
  // before the backward GEMMs), so its outputs are not the f32 result rounded once, as ours are —
  // elements differ from the CPU's by several bf16 ulps (up to 4 % seen on an H200 at the scale of
  // 0.2). It is held in norm (1 %, about 2.5 ulps RMS) and per element at 8 %; a wrong mask, scale
  // or layout is off by O(1) in many elements and fails both.
  const double tol = kBf16 ? (cudnn ? 8e-2 : 1e-2) : 1e-5;
  const double norm_tol = cudnn ? 1e-2 : 0.0;
  t.push_back({kind + "forward_" + s, [=](Mem& m) {
                 T* o = out(m, N * C);
                 float* lse = m.out(N * NH);
                 T* qkv = in(m, N * 3 * C, -2.0f, 2.0f);
                 uint64_t* keys = m.keys(N);
                 attention_forward(m.dev(), o, lse, qkv, shape(cu), {p, 99}, keys);
                 m.result("out", o, N * C);
                 m.result("lse", lse, N * NH);
               }, tol, cudnn, norm_tol});
  t.push_back({kind + "backward_" + s, [=](Mem& m) {
                 T* o = out(m, N * C);
                 float* lse = m.out(N * NH);
                 T* qkv = in(m, N * 3 * C, -2.0f, 2.0f);
                 uint64_t* keys = m.keys(N);
                 attention_forward(m.dev(), o, lse, qkv, shape(cu), {p, 99}, keys);
                 T* dqkv = in(m, N * 3 * C, -0.5f, 0.5f);  // accumulated into: random start values
                 T* dout = in(m, N * C, -1.0f, 1.0f);
                 attention_backward(m.dev(), dqkv, dout, qkv, o, lse, shape(cu), {p, 99}, keys);
                 m.result("dqkv", dqkv, N * 3 * C);
               }, tol, cudnn, norm_tol});
}

}  // namespace

std::vector<Row> make_table() {
  std::vector<Row> t;
  using MatmulShape = std::tuple<int64_t, int, int>;
  for (auto [N, C, OC] : std::vector<MatmulShape>{{1, 1, 1}, {7, 13, 5}, {257, 64, 192}, {1000, 33, 17}})
    for (bool bias : {false, true}) add_matmul(t, N, C, OC, bias);
  // bf16 GEMMs: both sides multiply the same rounded inputs, so f32's tolerance holds.
  add_matmul(t, 257, 64, 192, true, MatmulPrecision::bf16);
  add_matmul(t, 1000, 33, 17, false, MatmulPrecision::bf16);
  for (int64_t n : {int64_t(1), int64_t(100003)}) {
    const std::string s = "n" + std::to_string(n);
    t.push_back({"cast_to_bf16_" + s, [=](Mem& m) {
                   bf16* out = m.out_bf16(n);
                   cast_to_bf16(m.dev(), out, m.in(n, -100.0f, 100.0f), n);
                   m.result("out", out, n);
                 }});
    t.push_back({"cast_to_f32_" + s, [=](Mem& m) {
                   float* out = m.out(n);
                   cast_to_f32(m.dev(), out, m.in_bf16(n, -100.0f, 100.0f), n);
                   m.result("out", out, n);
                 }});
    t.push_back({"add_bf16_" + s, [=](Mem& m) {
                   float* acc = m.grad(n);
                   add_bf16(m.dev(), acc, m.in_bf16(n), n);
                   m.result("acc", acc, n);
                 }});
  }
  for (auto [N, C] : std::vector<std::pair<int64_t, int>>{{1, 1}, {5, 7}, {300, 64}, {1025, 129}})
    add_layernorm(t, N, C);
  for (int64_t n : {int64_t(1), int64_t(1000), int64_t(100003)}) add_gelu(t, n);
  using EmbeddingShape = std::tuple<int64_t, int, int64_t>;
  for (auto [N, C, V] :
       std::vector<EmbeddingShape>{{1, 1, 1}, {100, 16, 7}, {5000, 64, 1000}, {513, 33, 100000}})
    add_embedding(t, N, C, V);
  for (float p : {0.0f, 0.1f, 0.5f, 1.0f}) add_dropout(t, 333, 65, p);
  add_dropout(t, 1, 1, 0.3f);
  for (int64_t n : {int64_t(1), int64_t(4097), int64_t(300001)}) add_elementwise(t, n);
  for (int64_t n : {int64_t(1), int64_t(10007)}) {
    add_adamw(t, n, 1, 0.0);
    add_adamw(t, n, 25, 0.01);
  }
  for (float gamma : {0.0f, 0.5f, 2.0f, 3.7f}) add_focal(t, 4097, 0.25f, gamma, gamma == 2.0f);
  add_focal(t, 1, -1.0f, 2.0f, false);
  add_focal(t, 100003, -1.0f, 1.5f, true);
  add_gather_rows(t, 1, 1, 1);
  add_gather_rows(t, 37, 64, 200);
  add_gather_rows(t, 1000, 33, 1000);
  add_segment_mean(t, {1}, 1);
  add_segment_mean(t, {5, 0, 64, 200, 1}, 64);
  add_segment_mean(t, std::vector<int64_t>(300, 17), 33);
  add_xent(t, 1, 1, 1, true);
  add_xent(t, 37, 16, 1000, false);
  add_xent(t, 37, 16, 1000, true);
  add_xent(t, 300, 64, 5003, true);
  add_xent(t, 6, 32, 1000000, true);  // a million-item vocabulary
  add_xent(t, 37, 16, 1000, true, MatmulPrecision::bf16);
  add_xent(t, 300, 64, 5003, true, MatmulPrecision::bf16);
  add_matmul_stored_bf16(t, 257, 64, 192);
  add_matmul_stored_bf16(t, 1000, 33, 17);
  add_bf16_outputs(t, 300, 64);
  add_bf16_outputs(t, 1025, 129);
  for (bool causal : {false, true}) {
    add_attention<float>(t, {5, 0, 64, 65, 1, 0}, 2, 32, causal, 0.0f);
    add_attention<float>(t, {200, 37, 0, 129}, 4, 64, causal, 0.1f);
    add_attention<float>(t, {17, 3}, 3, 8, causal, 0.0f);
    add_attention<float>(t, {90, 0}, 1, 100, causal, 0.2f);
  }
  add_attention<float>(t, {0, 0}, 2, 16, false, 0.0f);  // every sequence empty: nothing to write
  for (bool causal : {false, true}) {
    add_attention<bf16>(t, {5, 0, 64, 65, 1, 0}, 2, 32, causal, 0.0f);
    add_attention<bf16>(t, {200, 37, 0, 129}, 4, 64, causal, 0.1f);
    add_attention<bf16>(t, {90, 0}, 1, 128, causal, 0.2f);
    // cuDNN's fused attention behind the same declaration: without dropout (it draws its own masks).
    add_attention<bf16>(t, {5, 0, 64, 65, 1, 0}, 2, 32, causal, 0.0f, AttentionBackend::cudnn);
    add_attention<bf16>(t, {200, 37, 0, 129}, 4, 64, causal, 0.0f, AttentionBackend::cudnn);
  }
  return t;
}

}  // namespace seqmend::ops_table
