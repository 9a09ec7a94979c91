#include "experiments/detect/score_mixture.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/error.h"

namespace seqmend {
namespace {

constexpr int kBins = 400;
constexpr int kMaxIterations = 20000;
constexpr double kClip = 1e-7;  // logit(1e-7) ≈ −16: a score of exactly 0 or 1 stays finite

double to_space(double s, bool logit) {
  if (!logit) return s;
  const double p = std::clamp(s, kClip, 1 - kClip);
  return std::log(p / (1 - p));
}

double normal_cdf(double x, double mean, double sd) { return 0.5 * std::erfc(-(x - mean) / (sd * std::sqrt(2.0))); }

// A quantile of `v` (a copy: nth_element reorders).
double quantile(std::vector<double> v, double q) {
  const size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
  std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
  return v[k];
}

// The injected scores' histogram through a Gaussian kernel of Silverman's bandwidth: a few thousand
// scores leave empty bins in their tails, and the log's anomalies there would all be counted genuine.
std::vector<double> smoothed(const std::vector<double>& f, const std::vector<double>& x,
                             std::span<const float> weight, double width) {
  double sw = 0, s1 = 0, s2 = 0, sw2 = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double w = weight.empty() ? 1.0 : double(weight[i]);
    sw += w, s1 += w * x[i], sw2 += w * w;
  }
  const double mean = s1 / sw;
  for (size_t i = 0; i < x.size(); ++i) s2 += (weight.empty() ? 1.0 : double(weight[i])) * (x[i] - mean) * (x[i] - mean);
  const double effective_n = sw * sw / sw2;  // Kish's: weighted scores count as fewer
  const double h = 1.06 * std::sqrt(s2 / sw) * std::pow(effective_n, -0.2) / width;  // in bins
  if (!(h > 0.5)) return f;
  const int reach = int(std::ceil(4 * h));
  std::vector<double> kernel(size_t(2 * reach + 1));
  for (int d = -reach; d <= reach; ++d) kernel[size_t(d + reach)] = std::exp(-0.5 * d * d / (h * h));
  std::vector<double> out(f.size(), 0.0);
  const int n = int(f.size());
  for (int b = 0; b < n; ++b) {
    if (f[size_t(b)] == 0) continue;
    const int first = std::max(0, b - reach), last = std::min(n - 1, b + reach);
    double norm = 0;  // the kernel cut at the ends, so that each bin's mass stays whole
    for (int k = first; k <= last; ++k) norm += kernel[size_t(k - b + reach)];
    for (int k = first; k <= last; ++k) out[size_t(k)] += f[size_t(b)] * kernel[size_t(k - b + reach)] / norm;
  }
  return out;
}

}  // namespace

double ScoreMixture::genuine_tail(double score) const {
  return 1.0 - normal_cdf(to_space(score, logit), mean, sd);
}

double ScoreMixture::precision_at(double score, double flagged_share) const {
  if (!fitted) return 1.0;
  if (!(flagged_share > 0)) return 0.0;
  return std::clamp(1.0 - (1.0 - share) * genuine_tail(score) / flagged_share, 0.0, 1.0);
}

nlohmann::json ScoreMixture::to_json() const {
  if (!fitted) return {{"fitted", false}};
  return {{"fitted", true}, {"space", logit ? "logit" : "score"}, {"share", share}, {"genuine_mean", mean},
          {"genuine_sd", sd}};
}

ScoreMixture fit_score_mixture(std::span<const float> log_scores, std::span<const float> injected_scores,
                               std::span<const float> injected_weight) {
  SEQ_CHECK(injected_weight.empty() || injected_weight.size() == injected_scores.size(), "fit_score_mixture: ",
            injected_weight.size(), " weights for ", injected_scores.size(), " injected scores");
  for (size_t i = 0; i < injected_weight.size(); ++i)
    SEQ_CHECK(std::isfinite(injected_weight[i]) && injected_weight[i] >= 0, "fit_score_mixture: weight ", i, " is ",
              injected_weight[i], " (weights must be finite and >= 0)");
  ScoreMixture m;
  if (log_scores.size() < 2 || injected_scores.empty()) return m;
  auto in_unit = [](float s) { return s >= 0.f && s <= 1.f; };
  m.logit = std::all_of(log_scores.begin(), log_scores.end(), in_unit) &&
            std::all_of(injected_scores.begin(), injected_scores.end(), in_unit);
  std::vector<double> x_log, x_inj, all;
  for (float s : log_scores) x_log.push_back(to_space(s, m.logit));
  for (float s : injected_scores) x_inj.push_back(to_space(s, m.logit));
  all = x_log;
  // An injected score of weight 0 is not there: it must not move the range either.
  for (size_t i = 0; i < x_inj.size(); ++i)
    if (injected_weight.empty() || injected_weight[i] > 0) all.push_back(x_inj[i]);
  // The range holds all but the outermost 0.05 % at either end (they join the end bins): a few
  // extreme scores must not leave the bulk in a handful of bins.
  const double lo = quantile(all, 0.0005) - 1, hi = quantile(all, 0.9995) + 1;
  const double width = (hi - lo) / kBins;
  auto bin = [&](double x) { return std::clamp(int((x - lo) / width), 0, kBins - 1); };
  std::vector<double> h_log(kBins, 0.0), f_inj(kBins, 0.0);
  for (double x : x_log) h_log[size_t(bin(x))] += 1;
  double w_total = 0;
  for (size_t i = 0; i < x_inj.size(); ++i) {
    const double w = injected_weight.empty() ? 1.0 : double(injected_weight[i]);
    f_inj[size_t(bin(x_inj[i]))] += w;
    w_total += w;
  }
  if (!(w_total > 0)) return m;
  for (double& f : f_inj) f /= w_total;
  f_inj = smoothed(f_inj, x_inj, injected_weight, width);

  const double n = double(x_log.size());
  auto centre = [&](int b) { return lo + (b + 0.5) * width; };
  auto moments = [&](const std::vector<double>& w) {
    double sw = 0, s1 = 0, s2 = 0;
    for (int b = 0; b < kBins; ++b) sw += w[size_t(b)], s1 += w[size_t(b)] * centre(b);
    const double mean = sw > 0 ? s1 / sw : 0;
    for (int b = 0; b < kBins; ++b) s2 += w[size_t(b)] * (centre(b) - mean) * (centre(b) - mean);
    // At least a bin's width: a genuine component in one bin would claim that bin's every event.
    return std::pair<double, double>{mean, std::max(width, sw > 0 ? std::sqrt(s2 / sw) : width)};
  };
  double share = 0.1;
  auto [mean, sd] = moments(h_log);
  std::vector<double> genuine_w(kBins);
  for (int it = 0; it < kMaxIterations; ++it) {
    double anomalies = 0;
    for (int b = 0; b < kBins; ++b) {
      // The end bins reach to ±inf: they hold the scores clamped into them.
      const double upper = b == kBins - 1 ? 1.0 : normal_cdf(lo + (b + 1) * width, mean, sd);
      const double g = upper - (b == 0 ? 0.0 : normal_cdf(lo + b * width, mean, sd));
      const double a = share * f_inj[size_t(b)], c = (1 - share) * g;
      const double r = a + c > 0 ? a / (a + c) : 0.0;  // P(anomaly | bin)
      anomalies += h_log[size_t(b)] * r;
      genuine_w[size_t(b)] = h_log[size_t(b)] * (1 - r);
    }
    const double next = anomalies / n;
    std::tie(mean, sd) = moments(genuine_w);
    const bool settled = std::fabs(next - share) < 1e-9;
    share = next;
    if (settled) break;
  }
  m.fitted = true;
  m.share = share;
  m.mean = mean;
  m.sd = sd;
  return m;
}

}  // namespace seqmend
