// Which kind of noise a log holds, judged from the popularity of the events its detector flags.
//
// Anomalies injected with `noise_items: mixed` are drawn uniformly or by popularity, even odds. The
// two kinds are not equally easy to see: a uniform draw is mostly a rare item in an odd place, a
// popular draw looks like behaviour. Calibrating on both at even odds (thresholds.h, log_precision)
// is right only for a log whose own noise is half of each: on a log of uniform noise the expected
// precision comes out too low (deletions stop early), on one of popularity noise too high. The
// flagged events tell the kinds apart: uniform noise flags rare items, popularity noise common ones.
//
//   NoiseKindEstimate k = estimate_noise_kind(scores, positive, items, set.item_counts());
//   std::vector<float> w = kind_weights(items, set.item_counts(), k.uniform_share);  // per event
//   log_precision_threshold(scores, positive, target, 50, w_of_positives);  // the log's mixture
//
// The estimate: at the threshold that flags `anchor` of the injected anomalies, the mean log item
// count of the log's flagged events (mostly its own noise there) lies between that of the flagged
// injections drawn uniformly and of those drawn by popularity; its place between the two is w, the
// uniform share of the log's noise flagged at the anchor. Which way each injection was drawn is not
// stored: given the item, P(uniform | item) = (1/V) / (1/V + (n_i + 1)/Σ(n + 1)) weighs it (the
// injector's own odds; being flagged depends on the item, not on how it was drawn).
// w is the flagged share, not the share among all the log's noise: where one kind is flagged more
// readily the two differ, and w leans to that kind. It is used as the mixture anyway, because that
// is what held the deletions' precision on the ML-100K noisy log (fine-tuned with mixed injections,
// seeds 1 and 2): w 0.23 on pure popularity noise and 0.85 / 0.98 on pure uniform noise, deletions
// 0.80 precise on the first and 0.87-0.91 on the second, at about twice the recall of even odds;
// converting w to the share among all noise (by the kinds' flag rates) gave 0.1 on popularity
// noise and deletions only 0.74-0.77 precise (the injections drawn by popularity score higher than
// the log's own popularity noise does).
// kind_weights turns the even-odds injections into a sample of the mixture w:
// 2 (w P(u | i) + (1 − w) (1 − P(u | i))), mean 1 over an even-odds sample.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace seqmend {

struct NoiseKindEstimate {
  double uniform_share = 0.5;  // w: share of the log's own noise flagged at the anchor drawn uniformly, [0, 1]
  bool informative = false;    // false: no evidence either way (nothing flagged, kinds alike), w = 0.5
  double anchor = 0;           // share of the injected anomalies flagged at the anchor threshold
  double threshold = 0;        // the anchor threshold
  int64_t flagged_log = 0, flagged_injected = 0;
  // mean log(1 + item count) of the flagged events: the log's, and the injections' per kind
  double log_count_log = 0, log_count_uniform = 0, log_count_popularity = 0;
  nlohmann::json to_json() const;
};

// P(drawn uniformly | item) for an even-odds mixed draw, indexed by item id (1..V; [0] unused).
// item_counts: (V) events per item over the log, as the injector weighs its popularity draws.
std::vector<double> uniform_posterior(std::span<const int64_t> item_counts);

// scores, positive (injected) and items (ids 1..V) per calibration event.
NoiseKindEstimate estimate_noise_kind(std::span<const float> scores, std::span<const uint8_t> positive,
                                      std::span<const int32_t> items, std::span<const int64_t> item_counts,
                                      double anchor = 0.3);

// Per event: the weight that makes an even-odds injection stand for the mixture w (1 for w = 0.5).
std::vector<float> kind_weights(std::span<const int32_t> items, std::span<const int64_t> item_counts,
                                double uniform_share);

}  // namespace seqmend
