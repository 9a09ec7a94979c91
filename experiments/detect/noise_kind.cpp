#include "experiments/detect/noise_kind.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/base/error.h"

namespace seqmend {
namespace {

void check_items(const char* op, std::span<const int32_t> items, size_t num_items) {
  for (size_t e = 0; e < items.size(); ++e)
    SEQ_CHECK(items[e] >= 1 && size_t(items[e]) <= num_items, op, ": event ", e, " has item ", items[e],
              ", outside 1..", num_items);
}

}  // namespace

nlohmann::json NoiseKindEstimate::to_json() const {
  return {{"uniform_share", uniform_share},
          {"informative", informative},
          {"anchor", anchor},
          {"threshold", threshold},
          {"flagged_log", flagged_log},
          {"flagged_injected", flagged_injected},
          {"mean_log_count",
           {{"log", log_count_log}, {"uniform", log_count_uniform}, {"popularity", log_count_popularity}}}};
}

std::vector<double> uniform_posterior(std::span<const int64_t> item_counts) {
  SEQ_CHECK(!item_counts.empty(), "uniform_posterior: no item counts");
  double total = 0;  // the injector's popularity weights: count + 1
  for (int64_t c : item_counts) total += double(std::max<int64_t>(c, 0)) + 1.0;
  const double uniform = 1.0 / double(item_counts.size());
  std::vector<double> p(item_counts.size() + 1, 0.0);
  for (size_t i = 0; i < item_counts.size(); ++i) {
    const double popular = (double(std::max<int64_t>(item_counts[i], 0)) + 1.0) / total;
    p[i + 1] = uniform / (uniform + popular);
  }
  return p;
}

NoiseKindEstimate estimate_noise_kind(std::span<const float> scores, std::span<const uint8_t> positive,
                                      std::span<const int32_t> items, std::span<const int64_t> item_counts,
                                      double anchor) {
  SEQ_CHECK(scores.size() == positive.size() && scores.size() == items.size(), "estimate_noise_kind: ",
            scores.size(), " scores, ", positive.size(), " labels and ", items.size(), " items");
  SEQ_CHECK(anchor > 0 && anchor <= 1, "estimate_noise_kind: anchor ", anchor, " is outside (0, 1]");
  check_items("estimate_noise_kind", items, item_counts.size());
  NoiseKindEstimate k;
  k.anchor = anchor;
  std::vector<float> pos_scores;
  for (size_t e = 0; e < scores.size(); ++e)
    if (positive[e]) pos_scores.push_back(scores[e]);
  if (pos_scores.empty()) return k;
  // The threshold flagging `anchor` of the injections (a whole tie group at it).
  const size_t rank = std::min(pos_scores.size() - 1, size_t(std::ceil(anchor * double(pos_scores.size()))) - 1);
  std::nth_element(pos_scores.begin(), pos_scores.begin() + std::ptrdiff_t(rank), pos_scores.end(),
                   std::greater<float>());
  k.threshold = pos_scores[rank];
  const std::vector<double> pu = uniform_posterior(item_counts);
  double su = 0, sp = 0, mu = 0, mp = 0, ml = 0;
  for (size_t e = 0; e < scores.size(); ++e) {
    if (!(scores[e] >= k.threshold)) continue;
    const double lc = std::log1p(double(std::max<int64_t>(item_counts[size_t(items[e]) - 1], 0)));
    if (positive[e]) {
      const double u = pu[size_t(items[e])];
      su += u, sp += 1 - u, mu += u * lc, mp += (1 - u) * lc;
      ++k.flagged_injected;
    } else {
      ml += lc;
      ++k.flagged_log;
    }
  }
  if (k.flagged_log == 0 || su <= 0 || sp <= 0) return k;
  k.log_count_log = ml / double(k.flagged_log);
  k.log_count_uniform = mu / su;
  k.log_count_popularity = mp / sp;
  const double spread = k.log_count_popularity - k.log_count_uniform;
  if (!(std::fabs(spread) > 1e-9)) return k;  // the kinds flag items alike: nothing tells them apart
  k.informative = true;
  k.uniform_share = std::clamp((k.log_count_popularity - k.log_count_log) / spread, 0.0, 1.0);
  return k;
}

std::vector<float> kind_weights(std::span<const int32_t> items, std::span<const int64_t> item_counts,
                                double uniform_share) {
  SEQ_CHECK(uniform_share >= 0 && uniform_share <= 1, "kind_weights: uniform share ", uniform_share,
            " is outside [0, 1]");
  check_items("kind_weights", items, item_counts.size());
  const std::vector<double> pu = uniform_posterior(item_counts);
  std::vector<float> w(items.size());
  for (size_t e = 0; e < items.size(); ++e) {
    const double u = pu[size_t(items[e])];
    w[e] = float(2 * (uniform_share * u + (1 - uniform_share) * (1 - u)));
  }
  return w;
}

}  // namespace seqmend
