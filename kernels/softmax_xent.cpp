// CPU fused softmax cross-entropy over the item vocabulary. Per chunk of R rows:
//   logits (R, V) = hidden_chunk (R, C) · table[first : first + V]ᵀ + bias
//   per row: max, log-sum-exp, loss; dlogits = (softmax − onehot) · scale, in place
//   dhidden_chunk (R, C) += dlogits · table_slice
//   dtable_slice (V, C)  += dlogitsᵀ · hidden_chunk
//   dbias_slice (V)      += Σ_rows dlogits
// The GEMMs are split into a fixed number of vocabulary stripes, each a single-threaded sgemm,
// spread over OpenMP threads; the softmax is split over rows. Because the stripes do not depend on
// the thread count (OpenBLAS's own threading does change the rounding), every result is bitwise the
// same at 1 and 2 threads. dhidden sums over the stripes, so each stripe writes a partial and the
// partials are added in stripe order. MatmulPrecision::bf16: hidden and the table are rounded once
// per call, each chunk's dlogits once after the softmax (rows spread over the team), and the
// products run natively in bf16 where the CPU can (elsewhere sgemm on the rounded values).
#include "kernels/softmax_xent.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/base/error.h"
#include "kernels/bf16.h"
#include "kernels/blas_single_thread.h"
#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/fast_exp.h"

namespace seqmend {
namespace {

// Vocabulary stripes per GEMM: a fixed split, whatever the thread count.
constexpr int64_t kStripes = 16;

void check_args(const XentArgs& a, const XentGrads& g) {
  SEQ_CHECK(a.M >= 0 && a.C > 0 && a.V > 0 && a.first >= 0 && a.chunk_rows > 0,
            "softmax_xent: bad shape M=", a.M, " C=", a.C, " V=", a.V, " first=", a.first,
            " chunk_rows=", a.chunk_rows);
  SEQ_CHECK(a.V <= int64_t(INT32_MAX) && a.chunk_rows <= int64_t(INT32_MAX),
            "softmax_xent: V=", a.V, " or chunk_rows=", a.chunk_rows, " exceeds the BLAS int range");
  SEQ_CHECK(a.M == 0 || (a.hidden && a.table && a.bias && a.targets),
            "softmax_xent: hidden, table, bias and targets must all be set (M=", a.M, ")");
  SEQ_CHECK(!g.dhidden || (g.dtable && g.dbias),
            "softmax_xent: with dhidden set, dtable and dbias must be set too");
}

// Reads every target, so the CPU does it here; the CUDA twin flags a bad target inside its kernel.
void check_targets(const XentArgs& a) {
  for (int64_t m = 0; m < a.M; ++m) {
    const int64_t t = a.targets[m];
    SEQ_CHECK(t >= a.first && t < a.first + a.V, "softmax_xent: row ", m, " has target id ", t,
              " outside the scoreable items [", a.first, ", ", a.first + a.V, ")");
  }
}

// Σ exp(row[v] − mx) over [v0, v1) in float lanes (`omp simd`: a fixed order, so deterministic);
// with `keep` the exponentials replace the row.
float exp_sum(float* row, int64_t v0, int64_t v1, float mx, bool keep) {
  float sum = 0.0f;
  if (keep) {
#pragma omp simd reduction(+ : sum)
    for (int64_t v = v0; v < v1; ++v) {
      const float e = fast_exp(row[v] - mx);
      row[v] = e;
      sum += e;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t v = v0; v < v1; ++v) sum += fast_exp(row[v] - mx);
  }
  return sum;
}

// The softmax denominator is summed in blocks of kSumBlock items, float lanes within a block and
// the blocks in double: one float accumulator over a million items drifts by ~1e-5 of the sum
// (seen against the GPU's tree sum), a block's by ~1e-7. A vocabulary of one block (every shipped
// config) sums exactly as a single float loop would.
constexpr int64_t kSumBlock = 8192;

// One row: adds the bias in place, returns −log softmax[target] and, when `grad_scale` is set,
// overwrites the row with (softmax − onehot) · scale. The row (V floats, 400 KB at V = 100k) stays
// in L2 across the three passes. `omp simd` lets the max reduction vectorise.
double row_loss(float* row, const float* bias, int64_t V, int64_t target, const float* grad_scale) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int64_t v = 0; v < V; ++v) {
    row[v] += bias[v];
    mx = row[v] > mx ? row[v] : mx;  // std::max does not vectorise
  }
  const float logit_target = row[target];
  double sum = 0.0;
  for (int64_t v0 = 0; v0 < V; v0 += kSumBlock)
    sum += double(exp_sum(row, v0, std::min(V, v0 + kSumBlock), mx, grad_scale != nullptr));
  const double loss = double(mx) + std::log(sum) - double(logit_target);
  if (grad_scale) {
    const float s = *grad_scale, k = s / float(sum);
#pragma omp simd
    for (int64_t v = 0; v < V; ++v) row[v] *= k;
    row[target] -= s;
  }
  return loss;
}

template <typename T>
void grow(std::vector<T>& buf, size_t n) {
  if (buf.size() < n) buf.resize(n);
}

// A GEMM operand rounded to bf16: stored as bf16 for native products, as rounded f32 otherwise.
inline void round_to(bf16* d, float x) { *d = to_bf16(x); }
inline void round_to(float* d, float x) { *d = to_float(to_bf16(x)); }

// Rounds x[0, n) into buf (grown, kept by the calling thread), over the team.
template <typename T>
const T* rounded_copy(std::vector<T>& buf, const float* x, int64_t n) {
  grow(buf, size_t(n));
  T* r = buf.data();
#pragma omp parallel for schedule(static) if (n >= (int64_t(1) << 16))
  for (int64_t i = 0; i < n; ++i) round_to(r + i, x[i]);
  return r;
}

// The chunk loop. T = float: f32 products on the arguments themselves (hid_op = a.hidden, table_op
// = the scoreable table rows, dl_buf null: the products read the logits' gradient in place); or
// the operands' bf16-rounded copies, with dl_buf receiving each chunk's rounded dlogits.
template <typename T>
double chunks(const XentArgs& a, const XentGrads& g, const T* hid_op, const T* table_op, std::vector<T>* dl_buf) {
  const int C = a.C;
  const int V = int(a.V);
  const int64_t R = std::min(a.chunk_rows, a.M);
  const float* bias = a.bias + a.first;         // (V)
  const bool want_grad = g.dhidden != nullptr;
  float* dtable = want_grad ? g.dtable + a.first * C : nullptr;
  float* dbias = want_grad ? g.dbias + a.first : nullptr;

  // Enough stripes to balance two or more threads, none narrower than 64 columns.
  const int n_stripes = int(std::clamp<int64_t>(a.V / 64, 1, kStripes));
  auto stripe_begin = [&](int s) { return int(int64_t(V) * s / n_stripes); };

  // Kept across calls (per calling thread): at V = 100k the logits are 100 MB, and a fresh
  // allocation would page-fault and zero them on every training step.
  thread_local std::vector<float> logits_buf, partial_buf;
  grow(logits_buf, size_t(R) * size_t(V));
  if (want_grad) grow(partial_buf, size_t(n_stripes) * size_t(R) * size_t(C));
  float* const logits = logits_buf.data();    // (R, V), reused by every chunk
  float* const partial = partial_buf.data();  // (S, R, C) per-stripe dhidden partial sums
  if (want_grad && dl_buf) grow(*dl_buf, size_t(R) * size_t(V));
  std::vector<double> losses(static_cast<size_t>(R));
  BlasSingleThread single;
  double total = 0.0;
  for (int64_t r0 = 0; r0 < a.M; r0 += R) {
    const int rows = int(std::min(R, a.M - r0));
    const T* hid = hid_op + r0 * C;  // (rows, C)
#pragma omp parallel for schedule(dynamic, 1)
    for (int s = 0; s < n_stripes; ++s) {
      const int v0 = stripe_begin(s), nv = stripe_begin(s + 1) - v0;
      gemm(false, true, rows, nv, C, 1.0f, hid, C, table_op + size_t(v0) * C, C, 0.0f, logits + v0, V);
    }
#pragma omp parallel for schedule(static)
    for (int i = 0; i < rows; ++i)
      losses[i] = row_loss(logits + size_t(i) * V, bias, V, a.targets[r0 + i] - a.first,
                           want_grad ? &g.scale : nullptr);
    for (int i = 0; i < rows; ++i) {
      SEQ_CHECK(std::isfinite(losses[i]), "softmax_xent: row ", r0 + i, " (target id ",
                a.targets[r0 + i], ") has a non-finite loss ", losses[i]);
      total += losses[i];
    }
    if (!want_grad) continue;
    const T* dl_op = nullptr;  // (rows, V) the logits' gradient as the products read it
    if constexpr (std::is_same_v<T, float>) dl_op = logits;
    if (dl_buf) {
      T* d = dl_buf->data();
#pragma omp parallel for schedule(static)
      for (int i = 0; i < rows; ++i) {
        const float* src = logits + size_t(i) * V;
        T* dst = d + size_t(i) * V;
#pragma omp simd
        for (int64_t v = 0; v < V; ++v) round_to(dst + v, src[v]);
      }
      dl_op = d;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int s = 0; s < n_stripes; ++s) {
      const int v0 = stripe_begin(s), nv = stripe_begin(s + 1) - v0;
      const T* dl = dl_op + v0;  // (rows, nv) with row stride V
      // partial_s (rows, C) = dlogits[:, stripe] · table[stripe]
      gemm(false, false, rows, C, nv, 1.0f, dl, V, table_op + size_t(v0) * C, C, 0.0f,
           partial + size_t(s) * R * C, C);
      // dtable[stripe] (nv, C) += dlogits[:, stripe]ᵀ · hidden_chunk
      gemm(true, false, nv, C, rows, 1.0f, dl, V, hid, C, 1.0f, dtable + size_t(v0) * C, C);
      // dbias[stripe] += column sums of the unrounded gradient, rows in order
      float* db = dbias + v0;
      for (int i = 0; i < rows; ++i) {
        const float* row = logits + v0 + size_t(i) * V;
#pragma omp simd
        for (int c = 0; c < nv; ++c) db[c] += row[c];
      }
    }
    float* dh = g.dhidden + r0 * C;
    const int64_t n = int64_t(rows) * C;
#pragma omp parallel for schedule(static)
    for (int64_t e = 0; e < n; ++e) {
      float acc = 0.0f;
      for (int s = 0; s < n_stripes; ++s) acc += partial[size_t(s) * R * C + e];
      dh[e] += acc;
    }
  }
  return total;
}

}  // namespace

double softmax_xent(Device dev, const XentArgs& a, const XentGrads& g) {
  check_args(a, g);
  if (dev == Device::CUDA) SEQ_CUDA_TWIN(softmax_xent, a, g);
  check_targets(a);
  if (a.M == 0) return 0.0;
  const float* table = a.table + a.first * a.C;  // (V, C) the scoreable rows
  if (a.prec == MatmulPrecision::f32) return chunks<float>(a, g, a.hidden, table, nullptr);
  // Per calling thread and kept, as the logits are: at V = 100k the table's copy is 25 MB.
  if (gemm_bf16_native()) {
    thread_local std::vector<bf16> hid16, table16, dl16;
    return chunks<bf16>(a, g, rounded_copy(hid16, a.hidden, a.M * a.C), rounded_copy(table16, table, a.V * a.C),
                        &dl16);
  }
  thread_local std::vector<float> hid_r, table_r, dl_r;
  return chunks<float>(a, g, rounded_copy(hid_r, a.hidden, a.M * a.C), rounded_copy(table_r, table, a.V * a.C),
                       &dl_r);
}

}  // namespace seqmend
