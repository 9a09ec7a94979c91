#include "experiments/detect/score_fusion.h"

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

// Solves the K×K system A x = b (symmetric positive definite after the ridge) by Gaussian
// elimination with partial pivoting; A is row-major.
std::vector<double> solve(std::vector<double> A, std::vector<double> b) {
  const size_t K = b.size();
  auto a = [&](size_t r, size_t c) -> double& { return A[r * K + c]; };
  for (size_t c = 0; c < K; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < K; ++r)
      if (std::fabs(a(r, c)) > std::fabs(a(p, c))) p = r;
    for (size_t k = 0; k < K; ++k) std::swap(a(c, k), a(p, k));
    std::swap(b[c], b[p]);
    for (size_t r = c + 1; r < K; ++r) {
      const double f = a(r, c) / a(c, c);
      for (size_t k = c; k < K; ++k) a(r, k) -= f * a(c, k);
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(K);
  for (size_t c = K; c-- > 0;) {
    double s = b[c];
    for (size_t k = c + 1; k < K; ++k) s -= a(c, k) * x[k];
    x[c] = s / a(c, c);
  }
  return x;
}

// The weights' features resolved against `inputs` once: (weight, values) with the zero weights
// of absent features dropped.
std::vector<std::pair<double, const std::vector<float>*>> resolve(const FusionWeights& w, const FusionInputs& in,
                                                                  const char* head) {
  std::vector<std::pair<double, const std::vector<float>*>> r;
  for (const auto& [name, weight] : w.features) {
    const std::vector<float>* v = in.find(name);
    SEQ_CHECK(v != nullptr || weight == 0.0, "score fusion: the ", head, " weights read feature '", name,
              "', which the inputs do not have");
    if (v) r.emplace_back(weight, v);
  }
  return r;
}

}  // namespace

double FusionWeights::weight(const std::string& name) const {
  for (const auto& [n, w] : features)
    if (n == name) return w;
  return 0.0;
}

float FusionWeights::apply(float p, const FusionInputs& in, size_t event) const {
  if (!fitted) return p;
  double z = score * logit(p) + bias;
  for (const auto& [w, v] : resolve(*this, in, "head")) z += w * double(v->at(event));
  return float(sigmoid(z));
}

nlohmann::json FusionWeights::to_json() const {
  if (!fitted) return nullptr;
  nlohmann::json j = {{"score", score}, {"bias", bias}};
  for (const auto& [name, w] : features) j[name] = w;
  return j;
}

FusionWeights FusionWeights::from_json(const nlohmann::json& j) {
  FusionWeights w;
  if (j.is_null()) return w;
  SEQ_CHECK(j.is_object() && j.contains("score") && j.contains("surprisal") && j.contains("bias"),
            "score fusion: expected {score, surprisal, bias, ...}, got ", j.dump());
  w.fitted = true;
  for (const auto& [key, value] : j.items()) {
    SEQ_CHECK(value.is_number(), "score fusion: weight '", key, "' is not a number: ", value.dump());
    if (key == "score")
      w.score = value.get<double>();
    else if (key == "bias")
      w.bias = value.get<double>();
    else
      w.features.emplace_back(key, value.get<double>());
  }
  return w;
}

void ScoreFusion::apply(DetectorScores& sc, const FusionInputs& in) const {
  auto one = [&](std::vector<float>& s, const FusionWeights& w, const char* head) {
    if (!w.fitted || s.empty()) return;
    for (const FusionInput& f : in.features)
      SEQ_CHECK(f.values.size() == s.size(), "score fusion: ", s.size(), " ", head, " scores but ", f.values.size(),
                " values of '", f.name, "'");
    const auto terms = resolve(w, in, head);
    for (size_t e = 0; e < s.size(); ++e) {
      double z = w.score * logit(s[e]) + w.bias;
      for (const auto& [weight, v] : terms) z += weight * double((*v)[e]);
      s[e] = float(sigmoid(z));
    }
  };
  one(sc.event, event, "event");
  one(sc.gap, gap, "gap");
}

nlohmann::json ScoreFusion::to_json() const {
  return {{"event", event.to_json()},
          {"gap", gap.to_json()},
          {"surprisal_passes", features.surprisal_passes},
          {"cooccurrence", features.cooccurrence},
          {"time", features.time}};
}

ScoreFusion ScoreFusion::from_json(const nlohmann::json& j) {
  ScoreFusion f;
  if (j.is_null()) return f;
  f.event = FusionWeights::from_json(j.value("event", nlohmann::json()));
  f.gap = FusionWeights::from_json(j.value("gap", nlohmann::json()));
  f.features.surprisal_passes = j.value("surprisal_passes", 0);
  f.features.cooccurrence = j.value("cooccurrence", false);  // absent in detectors written before: false
  f.features.time = j.value("time", false);
  return f;
}

FusionWeights fit_fusion(std::span<const float> scores, const FusionInputs& in, std::span<const int8_t> codes,
                         const HeadCodes& head) {
  SEQ_CHECK(scores.size() == codes.size(), "fit_fusion: ", scores.size(), " scores and ", codes.size(), " labels");
  for (const FusionInput& f : in.features)
    SEQ_CHECK(f.values.size() == scores.size(), "fit_fusion: ", scores.size(), " scores but ", f.values.size(),
              " values of '", f.name, "'");
  const size_t F = in.features.size() + 1, K = F + 1;  // logit(p), then the inputs; parameters add the bias
  const HeadItems items = head_items(codes, head);
  const std::vector<uint8_t>& y = items.positive;
  const size_t n = y.size();
  std::vector<double> x(n * F);  // row-major (item, feature)
  for (size_t i = 0; i < n; ++i) {
    const size_t e = items.index[i];
    SEQ_CHECK(std::isfinite(scores[e]), "fit_fusion: non-finite score at event ", e);
    x[i * F] = logit(scores[e]);
    for (size_t f = 1; f < F; ++f) {
      const float v = in.features[f - 1].values[e];
      SEQ_CHECK(std::isfinite(v), "fit_fusion: non-finite '", in.features[f - 1].name, "' at event ", e);
      x[i * F + f] = double(v);
    }
  }
  const size_t npos = size_t(std::count(y.begin(), y.end(), uint8_t(1)));
  FusionWeights w;
  if (npos == 0 || npos == n) return w;

  // Standardised features keep Newton's steps well conditioned whatever the scales.
  std::vector<double> mean(F, 0.0), sd(F, 0.0);
  for (size_t f = 0; f < F; ++f) {
    double s = 0, q = 0;
    for (size_t i = 0; i < n; ++i) s += x[i * F + f];
    mean[f] = s / double(n);
    for (size_t i = 0; i < n; ++i) q += (x[i * F + f] - mean[f]) * (x[i * F + f] - mean[f]);
    sd[f] = std::sqrt(q / double(n));
    if (!(sd[f] > 1e-12)) sd[f] = 1.0;  // a constant feature gets weight ~0 from the ridge
  }
  const double ridge = 1e-3 * double(n);  // on the slopes only
  std::vector<double> beta(K, 0.0);       // bias, then the slopes of the standardised features
  std::vector<double> z(K);
  for (int it = 0; it < 50; ++it) {
    std::vector<double> g(K, 0.0), H(K * K, 0.0);
    for (size_t i = 0; i < n; ++i) {
      z[0] = 1.0;
      double eta = beta[0];
      for (size_t f = 0; f < F; ++f) {
        z[f + 1] = (x[i * F + f] - mean[f]) / sd[f];
        eta += beta[f + 1] * z[f + 1];
      }
      const double p = sigmoid(eta);
      const double r = p - double(y[i]), v = std::max(p * (1.0 - p), 1e-12);
      for (size_t a = 0; a < K; ++a) {
        g[a] += r * z[a];
        for (size_t b = 0; b < K; ++b) H[a * K + b] += v * z[a] * z[b];
      }
    }
    for (size_t a = 1; a < K; ++a) {
      g[a] += ridge * beta[a];
      H[a * K + a] += ridge;
    }
    const std::vector<double> step = solve(std::move(H), std::move(g));
    double change = 0;
    for (size_t a = 0; a < K; ++a) {
      beta[a] -= step[a];
      change = std::max(change, std::fabs(step[a]));
    }
    if (change < 1e-9) break;
  }
  w.fitted = true;
  w.score = beta[1] / sd[0];
  w.bias = beta[0] - w.score * mean[0];
  for (size_t f = 1; f < F; ++f) {
    const double slope = beta[f + 1] / sd[f];
    w.features.emplace_back(in.features[f - 1].name, slope);
    w.bias -= slope * mean[f];
  }
  return w;
}

}  // namespace seqmend
