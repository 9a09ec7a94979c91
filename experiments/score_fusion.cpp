#include "experiments/score_fusion.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/base/error.h"

namespace seqmend {

namespace {

// Probabilities of exactly 0 or 1 (float saturation) would give infinite logits.
double logit(float p) {
  const double q = std::clamp(double(p), 1e-7, 1.0 - 1e-7);
  return std::log(q / (1.0 - q));
}

double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }

// Solves the K×K system A x = b (symmetric positive definite after the ridge) by Gaussian
// elimination with partial pivoting.
template <int K>
void solve(double (&A)[K][K], double (&b)[K], double (&x)[K]) {
  for (int c = 0; c < K; ++c) {
    int p = c;
    for (int r = c + 1; r < K; ++r)
      if (std::fabs(A[r][c]) > std::fabs(A[p][c])) p = r;
    std::swap(A[c], A[p]);
    std::swap(b[c], b[p]);
    for (int r = c + 1; r < K; ++r) {
      const double f = A[r][c] / A[c][c];
      for (int k = c; k < K; ++k) A[r][k] -= f * A[c][k];
      b[r] -= f * b[c];
    }
  }
  for (int c = K - 1; c >= 0; --c) {
    double s = b[c];
    for (int k = c + 1; k < K; ++k) s -= A[c][k] * x[k];
    x[c] = s / A[c][c];
  }
}

}  // namespace

float FusionWeights::apply(float p, float s, float r, float cm, float ct, float lc, float jn) const {
  if (!fitted) return p;
  return float(sigmoid(score * logit(p) + surprisal * double(s) + repeat * double(r) + cosine_mean * double(cm) +
                       cosine_top * double(ct) + log_count * double(lc) + jaccard_near * double(jn) + bias));
}

nlohmann::json FusionWeights::to_json() const {
  if (!fitted) return nullptr;
  return {{"score", score},           {"surprisal", surprisal},   {"repeat", repeat},
          {"cosine_mean", cosine_mean}, {"cosine_top", cosine_top}, {"log_count", log_count},
          {"jaccard_near", jaccard_near},
          {"bias", bias}};
}

FusionWeights FusionWeights::from_json(const nlohmann::json& j) {
  FusionWeights w;
  if (j.is_null()) return w;
  SEQ_CHECK(j.is_object() && j.contains("score") && j.contains("surprisal") && j.contains("bias"),
            "score fusion: expected {score, surprisal, bias}, got ", j.dump());
  w.fitted = true;
  w.score = j["score"].get<double>();
  w.surprisal = j["surprisal"].get<double>();
  w.repeat = j.value("repeat", 0.0);
  w.cosine_mean = j.value("cosine_mean", 0.0);
  w.cosine_top = j.value("cosine_top", 0.0);
  w.log_count = j.value("log_count", 0.0);
  w.jaccard_near = j.value("jaccard_near", 0.0);
  w.bias = j["bias"].get<double>();
  return w;
}

namespace {

float at_or_zero(std::span<const float> v, size_t e) { return v.empty() ? 0.0f : v[e]; }

}  // namespace

void ScoreFusion::apply(DetectorScores& sc, const FusionInputs& in) const {
  auto one = [&](std::vector<float>& s, const FusionWeights& w, const char* head) {
    if (!w.fitted || s.empty()) return;
    SEQ_CHECK(s.size() == in.surprisal.size() && s.size() == in.repeat.size(), "score fusion: ", s.size(), " ", head,
              " scores but ", in.surprisal.size(), " surprisal values and ", in.repeat.size(), " repeat flags");
    for (auto span : {in.cosine_mean, in.cosine_top, in.log_count, in.jaccard_near})
      SEQ_CHECK(span.empty() || span.size() == s.size(), "score fusion: ", s.size(), " ", head, " scores but ",
                span.size(), " co-occurrence values");
    for (size_t e = 0; e < s.size(); ++e)
      s[e] = w.apply(s[e], in.surprisal[e], in.repeat[e], at_or_zero(in.cosine_mean, e), at_or_zero(in.cosine_top, e),
                     at_or_zero(in.log_count, e), at_or_zero(in.jaccard_near, e));
  };
  one(sc.event, event, "event");
  one(sc.gap, gap, "gap");
}

nlohmann::json ScoreFusion::to_json() const {
  return {{"event", event.to_json()},
          {"gap", gap.to_json()},
          {"surprisal_passes", surprisal_passes},
          {"cooccurrence", cooccurrence}};
}

ScoreFusion ScoreFusion::from_json(const nlohmann::json& j) {
  ScoreFusion f;
  if (j.is_null()) return f;
  f.event = FusionWeights::from_json(j.value("event", nlohmann::json()));
  f.gap = FusionWeights::from_json(j.value("gap", nlohmann::json()));
  f.surprisal_passes = j.value("surprisal_passes", 0);
  f.cooccurrence = j.value("cooccurrence", false);
  return f;
}

std::vector<float> repeat_flags(const SequenceSet& set) {
  std::vector<float> r(size_t(set.num_events()), 0.0f);
  for (int64_t q = 0; q < set.num_sequences(); ++q)
    for (int64_t e = set.offsets[size_t(q)] + 1; e < set.offsets[size_t(q) + 1]; ++e) {
      const bool same_item = set.item[size_t(e)] == set.item[size_t(e) - 1];
      const bool same_action = !set.has_actions() || set.action[size_t(e)] == set.action[size_t(e) - 1];
      r[size_t(e)] = same_item && same_action ? 1.0f : 0.0f;
    }
  return r;
}

FusionWeights fit_fusion(std::span<const float> scores, const FusionInputs& in, std::span<const int8_t> codes,
                         const HeadCodes& head) {
  SEQ_CHECK(scores.size() == in.surprisal.size() && scores.size() == in.repeat.size() && scores.size() == codes.size(),
            "fit_fusion: ", scores.size(), " scores, ", in.surprisal.size(), " surprisal values, ", in.repeat.size(),
            " repeat flags and ", codes.size(), " labels");
  for (auto span : {in.cosine_mean, in.cosine_top, in.log_count, in.jaccard_near})
    SEQ_CHECK(span.empty() || span.size() == scores.size(), "fit_fusion: ", scores.size(), " scores but ",
              span.size(), " co-occurrence values");
  constexpr int F = 7, K = F + 1;  // features; parameters = bias + one slope per feature
  const HeadItems items = head_items(codes, head);
  const std::vector<uint8_t>& y = items.positive;
  std::vector<std::array<double, F>> x;
  for (size_t e : items.index) {
    std::array<double, F> v = {logit(scores[e]),
                               double(in.surprisal[e]),
                               double(in.repeat[e]),
                               double(at_or_zero(in.cosine_mean, e)),
                               double(at_or_zero(in.cosine_top, e)),
                               double(at_or_zero(in.log_count, e)),
                               double(at_or_zero(in.jaccard_near, e))};
    for (int f = 1; f < F; ++f) SEQ_CHECK(std::isfinite(v[size_t(f)]), "fit_fusion: non-finite input at event ", e);
    SEQ_CHECK(std::isfinite(scores[e]), "fit_fusion: non-finite input at event ", e);
    x.push_back(v);
  }
  const size_t n = y.size();
  const size_t npos = size_t(std::count(y.begin(), y.end(), uint8_t(1)));
  FusionWeights w;
  if (npos == 0 || npos == n) return w;

  // Standardised features keep Newton's steps well conditioned whatever the scales.
  double mean[F], sd[F];
  for (int f = 0; f < F; ++f) {
    double s = 0, q = 0;
    for (const auto& v : x) s += v[size_t(f)];
    mean[f] = s / double(n);
    for (const auto& v : x) q += (v[size_t(f)] - mean[f]) * (v[size_t(f)] - mean[f]);
    sd[f] = std::sqrt(q / double(n));
    if (!(sd[f] > 1e-12)) sd[f] = 1.0;  // a constant feature gets weight ~0 from the ridge
  }
  const double ridge = 1e-3 * double(n);  // on the slopes only
  double beta[K] = {};                     // bias, then the slopes of the standardised features
  for (int it = 0; it < 50; ++it) {
    double g[K] = {}, H[K][K] = {};
    for (size_t i = 0; i < n; ++i) {
      double z[K] = {1.0};
      double eta = beta[0];
      for (int f = 0; f < F; ++f) {
        z[f + 1] = (x[i][size_t(f)] - mean[f]) / sd[f];
        eta += beta[f + 1] * z[f + 1];
      }
      const double p = sigmoid(eta);
      const double r = p - double(y[i]), v = std::max(p * (1.0 - p), 1e-12);
      for (int a = 0; a < K; ++a) {
        g[a] += r * z[a];
        for (int b = 0; b < K; ++b) H[a][b] += v * z[a] * z[b];
      }
    }
    for (int a = 1; a < K; ++a) {
      g[a] += ridge * beta[a];
      H[a][a] += ridge;
    }
    double step[K];
    solve(H, g, step);
    double change = 0;
    for (int a = 0; a < K; ++a) {
      beta[a] -= step[a];
      change = std::max(change, std::fabs(step[a]));
    }
    if (change < 1e-9) break;
  }
  w.fitted = true;
  w.score = beta[1] / sd[0];
  w.surprisal = beta[2] / sd[1];
  w.repeat = beta[3] / sd[2];
  w.cosine_mean = beta[4] / sd[3];
  w.cosine_top = beta[5] / sd[4];
  w.log_count = beta[6] / sd[5];
  w.jaccard_near = beta[7] / sd[6];
  w.bias = beta[0] - w.score * mean[0] - w.surprisal * mean[1] - w.repeat * mean[2] - w.cosine_mean * mean[3] -
           w.cosine_top * mean[4] - w.log_count * mean[5] - w.jaccard_near * mean[6];
  return w;
}

}  // namespace seqmend
