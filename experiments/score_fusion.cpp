#include "experiments/score_fusion.h"

#include <algorithm>
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

// Solves the 3×3 system A x = b (symmetric positive definite after the ridge) by Gaussian
// elimination with partial pivoting.
void solve3(double A[3][3], double b[3], double x[3]) {
  for (int c = 0; c < 3; ++c) {
    int p = c;
    for (int r = c + 1; r < 3; ++r)
      if (std::fabs(A[r][c]) > std::fabs(A[p][c])) p = r;
    std::swap(A[c], A[p]);
    std::swap(b[c], b[p]);
    for (int r = c + 1; r < 3; ++r) {
      const double f = A[r][c] / A[c][c];
      for (int k = c; k < 3; ++k) A[r][k] -= f * A[c][k];
      b[r] -= f * b[c];
    }
  }
  for (int c = 2; c >= 0; --c) {
    double s = b[c];
    for (int k = c + 1; k < 3; ++k) s -= A[c][k] * x[k];
    x[c] = s / A[c][c];
  }
}

}  // namespace

float FusionWeights::apply(float p, float s) const {
  if (!fitted) return p;
  return float(sigmoid(score * logit(p) + surprisal * double(s) + bias));
}

nlohmann::json FusionWeights::to_json() const {
  if (!fitted) return nullptr;
  return {{"score", score}, {"surprisal", surprisal}, {"bias", bias}};
}

FusionWeights FusionWeights::from_json(const nlohmann::json& j) {
  FusionWeights w;
  if (j.is_null()) return w;
  SEQ_CHECK(j.is_object() && j.contains("score") && j.contains("surprisal") && j.contains("bias"),
            "score fusion: expected {score, surprisal, bias}, got ", j.dump());
  w.fitted = true;
  w.score = j["score"].get<double>();
  w.surprisal = j["surprisal"].get<double>();
  w.bias = j["bias"].get<double>();
  return w;
}

void ScoreFusion::apply(DetectorScores& sc, std::span<const float> surprisal) const {
  auto one = [&](std::vector<float>& s, const FusionWeights& w, const char* head) {
    if (!w.fitted || s.empty()) return;
    SEQ_CHECK(s.size() == surprisal.size(), "score fusion: ", s.size(), " ", head, " scores but ",
              surprisal.size(), " surprisal values");
    for (size_t e = 0; e < s.size(); ++e) s[e] = w.apply(s[e], surprisal[e]);
  };
  one(sc.event, event, "event");
  one(sc.gap, gap, "gap");
}

nlohmann::json ScoreFusion::to_json() const {
  return {{"event", event.to_json()}, {"gap", gap.to_json()}, {"surprisal_passes", surprisal_passes}};
}

ScoreFusion ScoreFusion::from_json(const nlohmann::json& j) {
  ScoreFusion f;
  if (j.is_null()) return f;
  f.event = FusionWeights::from_json(j.value("event", nlohmann::json()));
  f.gap = FusionWeights::from_json(j.value("gap", nlohmann::json()));
  f.surprisal_passes = j.value("surprisal_passes", 0);
  return f;
}

FusionWeights fit_fusion(std::span<const float> scores, std::span<const float> surprisal,
                         std::span<const int8_t> codes, const HeadCodes& head) {
  SEQ_CHECK(scores.size() == surprisal.size() && scores.size() == codes.size(), "fit_fusion: ", scores.size(),
            " scores, ", surprisal.size(), " surprisal values and ", codes.size(), " labels");
  const HeadItems items = head_items(codes, head);
  const std::vector<uint8_t>& y = items.positive;
  std::vector<double> x1, x2;
  for (size_t e : items.index) {
    SEQ_CHECK(std::isfinite(scores[e]) && std::isfinite(surprisal[e]), "fit_fusion: non-finite input at event ",
              e);
    x1.push_back(logit(scores[e]));
    x2.push_back(double(surprisal[e]));
  }
  const size_t n = y.size();
  const size_t npos = size_t(std::count(y.begin(), y.end(), uint8_t(1)));
  FusionWeights w;
  if (npos == 0 || npos == n) return w;

  // Standardised features keep Newton's steps well conditioned whatever the scales.
  auto moments = [&](const std::vector<double>& x, double& mean, double& sd) {
    double s = 0, q = 0;
    for (double v : x) s += v;
    mean = s / double(n);
    for (double v : x) q += (v - mean) * (v - mean);
    sd = std::sqrt(q / double(n));
    if (!(sd > 1e-12)) sd = 1.0;  // a constant feature gets weight ~0 from the ridge
  };
  double m1, s1, m2, s2;
  moments(x1, m1, s1);
  moments(x2, m2, s2);
  const double ridge = 1e-3 * double(n);  // on the two slopes only
  double beta[3] = {0, 0, 0};              // bias, slope of z1, slope of z2
  for (int it = 0; it < 50; ++it) {
    double g[3] = {0, 0, 0}, H[3][3] = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
    for (size_t i = 0; i < n; ++i) {
      const double z[3] = {1.0, (x1[i] - m1) / s1, (x2[i] - m2) / s2};
      const double p = sigmoid(beta[0] + beta[1] * z[1] + beta[2] * z[2]);
      const double r = p - double(y[i]), v = std::max(p * (1.0 - p), 1e-12);
      for (int a = 0; a < 3; ++a) {
        g[a] += r * z[a];
        for (int b = 0; b < 3; ++b) H[a][b] += v * z[a] * z[b];
      }
    }
    for (int a = 1; a < 3; ++a) {
      g[a] += ridge * beta[a];
      H[a][a] += ridge;
    }
    double step[3];
    solve3(H, g, step);
    double change = 0;
    for (int a = 0; a < 3; ++a) {
      beta[a] -= step[a];
      change = std::max(change, std::fabs(step[a]));
    }
    if (change < 1e-9) break;
  }
  w.fitted = true;
  w.score = beta[1] / s1;
  w.surprisal = beta[2] / s2;
  w.bias = beta[0] - w.score * m1 - w.surprisal * m2;
  return w;
}

}  // namespace seqmend
