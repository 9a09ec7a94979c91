#include "experiments/eval/user_bootstrap.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/base/error.h"

namespace seqmend {

double user_metric(const BootstrapConfig& cfg, int64_t rank) {
  if (cfg.metric == "mrr") return 1.0 / double(rank + 1);
  if (rank >= cfg.k) return 0.0;
  if (cfg.metric == "hr") return 1.0;
  SEQ_CHECK(cfg.metric == "ndcg", "paired_user_bootstrap: metric must be ndcg, hr or mrr, got '", cfg.metric, "'");
  return 1.0 / std::log2(double(rank) + 2.0);
}

namespace {

// user → mean over seeds of the metric, for users ranked by every seed.
std::map<int64_t, double> per_user_means(const SeedRanks& set, const BootstrapConfig& cfg, const char* name) {
  SEQ_CHECK(!set.empty(), "paired_user_bootstrap: the ", name, " set has no seeds");
  std::map<int64_t, std::pair<double, size_t>> acc;
  for (const auto& seed : set)
    for (const UserRank& r : seed) {
      auto& [sum, n] = acc[r.user];
      sum += user_metric(cfg, r.rank);
      ++n;
    }
  std::map<int64_t, double> out;
  for (const auto& [u, v] : acc)
    if (v.second == set.size()) out[u] = v.first / double(v.second);
  return out;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * double(v.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

nlohmann::json summary(double mean, const std::vector<double>& draws, double level) {
  double m = 0, ss = 0;
  for (double d : draws) m += d;
  m /= double(draws.size());
  for (double d : draws) ss += (d - m) * (d - m);
  return {{"mean", mean},
          {"se", std::sqrt(ss / double(std::max<size_t>(1, draws.size() - 1)))},
          {"low", quantile(draws, (1.0 - level) / 2)},
          {"high", quantile(draws, (1.0 + level) / 2)}};
}

bool covers_zero(const nlohmann::json& s) { return s["low"].get<double>() <= 0.0 && s["high"].get<double>() >= 0.0; }

}  // namespace

nlohmann::json paired_user_bootstrap(const SeedRanks& raw, const SeedRanks& repaired, const SeedRanks& clean,
                                     const BootstrapConfig& cfg) {
  SEQ_CHECK(cfg.resamples >= 2, "paired_user_bootstrap: resamples must be >= 2, got ", cfg.resamples);
  SEQ_CHECK(cfg.level > 0 && cfg.level < 1, "paired_user_bootstrap: level must be in (0, 1), got ", cfg.level);
  SEQ_CHECK(cfg.k >= 1, "paired_user_bootstrap: k must be >= 1, got ", cfg.k);
  const bool with_clean = !clean.empty();
  const auto a = per_user_means(raw, cfg, "raw"), b = per_user_means(repaired, cfg, "repaired");
  const auto c = with_clean ? per_user_means(clean, cfg, "clean") : std::map<int64_t, double>{};
  std::map<int64_t, bool> seen;
  for (const SeedRanks* s : {&raw, &repaired, &clean})
    for (const auto& seed : *s)
      for (const UserRank& r : seed) seen[r.user] = true;
  std::vector<double> rep, cln;  // per common user: repaired − raw, clean − raw
  for (const auto& [u, va] : a) {
    const auto ib = b.find(u);
    if (ib == b.end()) continue;
    double vc = 0;
    if (with_clean) {
      const auto ic = c.find(u);
      if (ic == c.end()) continue;
      vc = ic->second - va;
    }
    rep.push_back(ib->second - va);
    cln.push_back(vc);
  }
  const size_t U = rep.size();
  SEQ_CHECK(U > 0, "paired_user_bootstrap: no user is ranked by every seed of every set");

  auto mean_of = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
  };
  const double rep_mean = mean_of(rep), cln_mean = mean_of(cln);
  std::vector<double> rep_draws, cln_draws, share_draws;
  std::mt19937_64 rng(cfg.seed);
  for (int64_t t = 0; t < cfg.resamples; ++t) {
    double sr = 0, sc = 0;
    for (size_t i = 0; i < U; ++i) {
      const size_t j = size_t(rng() % U);  // the modulo bias is below 1e-15 for any user count here
      sr += rep[j];
      sc += cln[j];
    }
    rep_draws.push_back(sr / double(U));
    cln_draws.push_back(sc / double(U));
    if (sc != 0) share_draws.push_back(sr / sc);
  }
  const std::string name = cfg.metric == "mrr" ? "mrr" : cfg.metric + "@" + std::to_string(cfg.k);
  nlohmann::json out = {{"metric", name},
                        {"users", int64_t(U)},
                        {"users_left_out", int64_t(seen.size() - U)},
                        {"resamples", cfg.resamples},
                        {"level", cfg.level}};
  out["repaired_minus_raw"] = summary(rep_mean, rep_draws, cfg.level);
  out["recovery_within_noise"] = covers_zero(out["repaired_minus_raw"]);
  if (with_clean) {
    out["clean_minus_raw"] = summary(cln_mean, cln_draws, cfg.level);
    out["cost_within_noise"] = covers_zero(out["clean_minus_raw"]);
    nlohmann::json share = {{"value", cln_mean != 0 ? nlohmann::json(rep_mean / cln_mean) : nlohmann::json(nullptr)},
                            {"low", nullptr},
                            {"high", nullptr}};
    // A ratio whose denominator crosses zero has no meaningful interval.
    if (!out["cost_within_noise"].get<bool>() && share_draws.size() == size_t(cfg.resamples)) {
      share["low"] = quantile(share_draws, (1.0 - cfg.level) / 2);
      share["high"] = quantile(share_draws, (1.0 + cfg.level) / 2);
    }
    out["recovered_share"] = share;
  }
  return out;
}

}  // namespace seqmend
