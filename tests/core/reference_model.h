// A plain double-precision BERT4Rec forward written straight from the definitions, one sequence and
// one head at a time, with no packing tricks, no fusion and no shared code with core/ beyond the
// parameter layout and the dropout keep rule. The gradient check differentiates it by central
// differences; it is the ground truth the f32 model is held to.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "core/batch.h"
#include "core/dropout_sites.h"
#include "core/model_config.h"
#include "core/param_buffer.h"
#include "kernels/dropout.h"

namespace seqmend::test {

struct ReferenceModel {
  const ModelConfig& cfg;
  const ParamBuffer& layout;  // only the offsets and shapes are used

  const double* P(const std::vector<double>& w, const std::string& name) const {
    return w.data() + layout.entry(name).offset;
  }

  static void layernorm(double* out, const double* x, const double* w, const double* b, int C, double eps) {
    double m = 0, v = 0;
    for (int c = 0; c < C; ++c) m += x[c];
    m /= C;
    for (int c = 0; c < C; ++c) v += (x[c] - m) * (x[c] - m);
    v /= C;
    const double r = 1.0 / std::sqrt(v + eps);
    for (int c = 0; c < C; ++c) out[c] = (x[c] - m) * r * w[c] + b[c];
  }

  static double gelu(double x) {
    const double k = std::sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
  }

  // y (OC) = W (OC, IC) x (IC) + b (OC)
  static void linear(double* y, const double* x, const double* W, const double* b, int IC, int OC) {
    for (int o = 0; o < OC; ++o) {
      double s = b[o];
      for (int i = 0; i < IC; ++i) s += W[size_t(o) * IC + i] * x[i];
      y[o] = s;
    }
  }

  static void dropout(double* x, int C, const DropoutSpec& d, uint64_t key) {
    if (d.p <= 0.0f) return;
    for (int c = 0; c < C; ++c) x[c] = dropout_keep(d, key, uint64_t(c)) ? x[c] / (1.0 - double(d.p)) : 0.0;
  }

  // Final hidden states (after the final LayerNorm) for every token, (N, C) row-major.
  std::vector<double> hidden(const std::vector<double>& w, const Batch& b, bool train, uint64_t seed) const {
    const int C = cfg.d_model, F = cfg.ffn_dim(), NH = cfg.num_heads, HS = cfg.head_size();
    const int64_t N = b.N;
    const double eps = cfg.layernorm_eps;
    std::vector<double> x(static_cast<size_t>(N * C)), tmp(static_cast<size_t>(C));
    const DropoutSpec de = dropout_site(cfg.emb_dropout, train, seed, kSiteEmbedding);
    for (int64_t n = 0; n < N; ++n) {
      for (int c = 0; c < C; ++c)
        tmp[size_t(c)] = P(w, "emb.item")[b.item[size_t(n)] * C + c] + P(w, "emb.pos")[b.position[size_t(n)] * C + c] +
                         P(w, "emb.action")[b.action[size_t(n)] * C + c] + P(w, "emb.gap")[b.gap[size_t(n)] * C + c];
      double* xn = &x[size_t(n * C)];
      layernorm(xn, tmp.data(), P(w, "emb.ln.w"), P(w, "emb.ln.b"), C, eps);
      dropout(xn, C, de, b.token_keys[size_t(n)]);
    }
    for (int l = 0; l < cfg.num_layers; ++l) {
      const std::string p = "block" + std::to_string(l) + ".";
      const DropoutSpec da = dropout_site(cfg.attn_dropout, train, seed, site_attention(l));
      const DropoutSpec dao = dropout_site(cfg.hidden_dropout, train, seed, site_attention_out(l));
      const DropoutSpec dfo = dropout_site(cfg.hidden_dropout, train, seed, site_ffn_out(l));
      std::vector<double> qkv(static_cast<size_t>(N * 3 * C)), h(static_cast<size_t>(C)), att(static_cast<size_t>(N * C));
      for (int64_t n = 0; n < N; ++n) {
        layernorm(h.data(), &x[size_t(n * C)], P(w, p + "ln1.w"), P(w, p + "ln1.b"), C, eps);
        linear(&qkv[size_t(n * 3 * C)], h.data(), P(w, p + "qkv.w"), P(w, p + "qkv.b"), C, 3 * C);
      }
      const double scale = 1.0 / std::sqrt(double(HS));
      for (int64_t s = 0; s < b.B; ++s) {
        const int64_t beg = b.cu_seqlens[size_t(s)], len = b.seq_len(s);
        for (int hd = 0; hd < NH; ++hd) {
          for (int64_t i = 0; i < len; ++i) {
            const double* q = &qkv[size_t((beg + i) * 3 * C + hd * HS)];
            const int64_t jend = cfg.causal() ? i + 1 : len;
            std::vector<double> sc(static_cast<size_t>(jend));
            double mx = -INFINITY;
            for (int64_t j = 0; j < jend; ++j) {
              const double* k = &qkv[size_t((beg + j) * 3 * C + C + hd * HS)];
              double d = 0;
              for (int e = 0; e < HS; ++e) d += q[e] * k[e];
              sc[size_t(j)] = d * scale;
              mx = std::max(mx, sc[size_t(j)]);
            }
            double z = 0;
            for (auto& v : sc) z += (v = std::exp(v - mx));
            double* o = &att[size_t((beg + i) * C + hd * HS)];
            for (int e = 0; e < HS; ++e) o[e] = 0;
            for (int64_t j = 0; j < jend; ++j) {
              double pj = sc[size_t(j)] / z;
              if (da.p > 0.0f)
                pj = dropout_keep(da, b.token_keys[size_t(beg + i)], uint64_t(hd) * (uint64_t(1) << 20) + uint64_t(j))
                         ? pj / (1.0 - double(da.p)) : 0.0;
              const double* v = &qkv[size_t((beg + j) * 3 * C + 2 * C + hd * HS)];
              for (int e = 0; e < HS; ++e) o[e] += pj * v[e];
            }
          }
        }
      }
      std::vector<double> f(static_cast<size_t>(F)), g(static_cast<size_t>(F));
      for (int64_t n = 0; n < N; ++n) {
        double* xn = &x[size_t(n * C)];
        const uint64_t key = b.token_keys[size_t(n)];
        linear(h.data(), &att[size_t(n * C)], P(w, p + "proj.w"), P(w, p + "proj.b"), C, C);
        dropout(h.data(), C, dao, key);
        for (int c = 0; c < C; ++c) xn[c] += h[size_t(c)];
        layernorm(h.data(), xn, P(w, p + "ln2.w"), P(w, p + "ln2.b"), C, eps);
        linear(f.data(), h.data(), P(w, p + "fc.w"), P(w, p + "fc.b"), C, F);
        for (int i = 0; i < F; ++i) g[size_t(i)] = gelu(f[size_t(i)]);
        linear(h.data(), g.data(), P(w, p + "fc2.w"), P(w, p + "fc2.b"), F, C);
        dropout(h.data(), C, dfo, key);
        for (int c = 0; c < C; ++c) xn[c] += h[size_t(c)];
      }
    }
    std::vector<double> out(static_cast<size_t>(N * C));
    for (int64_t n = 0; n < N; ++n)
      layernorm(&out[size_t(n * C)], &x[size_t(n * C)], P(w, "final.ln.w"), P(w, "final.ln.b"), C, eps);
    return out;
  }

  // Logits over items 1..V at the target rows, (M, V).
  std::vector<double> logits(const std::vector<double>& w, const Batch& b, bool train, uint64_t seed) const {
    const int C = cfg.d_model;
    const int64_t V = cfg.num_items;
    std::vector<double> hs = hidden(w, b, train, seed), out;
    for (int64_t row : b.target_rows) {
      const double* h = &hs[size_t(row * C)];
      for (int64_t v = 1; v <= V; ++v) {
        double s = P(w, "out.bias")[v];
        for (int c = 0; c < C; ++c) s += h[c] * P(w, "emb.item")[v * C + c];
        out.push_back(s);
      }
    }
    return out;
  }

  // Mean cross-entropy over the target rows.
  double loss(const std::vector<double>& w, const Batch& b, bool train, uint64_t seed) const {
    const int64_t V = cfg.num_items, M = b.M();
    std::vector<double> lg = logits(w, b, train, seed);
    double total = 0;
    for (int64_t m = 0; m < M; ++m) {
      const double* z = &lg[size_t(m * V)];
      double mx = -INFINITY, s = 0;
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, z[v]);
      for (int64_t v = 0; v < V; ++v) s += std::exp(z[v] - mx);
      total += mx + std::log(s) - z[b.target_items[size_t(m)] - 1];
    }
    return total / double(M);
  }
};

}  // namespace seqmend::test
