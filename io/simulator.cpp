#include "io/simulator.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>
#include <utility>

#include "core/base/error.h"
#include "io/sampling.h"

namespace seqmend {

namespace {

// Stream tags: each kind of random decision has its own stream, indexed by the thing it is about
// (cluster, item, user), so changing one part of the world leaves the others' draws untouched.
constexpr uint64_t kStreamRank = 0x72616e6b;       // in-cluster popularity order, per cluster
constexpr uint64_t kStreamSuccessor = 0x73756363;  // follow-up lists, per item
constexpr uint64_t kStreamUser = 0x75736572;       // everything about one user

Rng stream_rng(uint64_t seed, uint64_t tag, uint64_t index) { return Rng(hash_combine(seed, tag), index); }

using Mixture = std::vector<std::pair<int32_t, double>>;  // (cluster, weight), weights sum to 1

int32_t draw_from_mixture(const Mixture& m, Rng& rng) {
  double x = rng.uniform_double(), s = 0;
  for (const auto& [c, w] : m) {
    s += w;
    if (x < s) return c;
  }
  return m.back().first;
}

bool mixture_has(const Mixture& m, int32_t c) {
  for (const auto& e : m)
    if (e.first == c) return true;
  return false;
}

// Moves `cur` a fraction `rate` of the way to `target`; interests that have faded below 0.1 % are
// forgotten so the mixture stays sparse.
void drift_towards(Mixture& cur, const Mixture& target, double rate) {
  Mixture next;
  for (const auto& [c, w] : cur) next.emplace_back(c, (1.0 - rate) * w);
  for (const auto& [c, w] : target) {
    auto it = std::find_if(next.begin(), next.end(), [c = c](const auto& e) { return e.first == c; });
    if (it != next.end())
      it->second += rate * w;
    else
      next.emplace_back(c, rate * w);
  }
  std::erase_if(next, [](const auto& e) { return e.second < 1e-3; });
  double s = 0;
  for (const auto& e : next) s += e.second;
  for (auto& e : next) e.second /= s;
  cur = std::move(next);
}

void append_set(SequenceSet& dst, const SequenceSet& src) {
  int64_t base = dst.num_events();
  for (int64_t s = 1; s <= src.num_sequences(); ++s) dst.offsets.push_back(base + src.offsets[size_t(s)]);
  dst.item.insert(dst.item.end(), src.item.begin(), src.item.end());
  dst.timestamp.insert(dst.timestamp.end(), src.timestamp.begin(), src.timestamp.end());
  dst.action.insert(dst.action.end(), src.action.begin(), src.action.end());
  dst.user.insert(dst.user.end(), src.user.begin(), src.user.end());
  dst.label.insert(dst.label.end(), src.label.begin(), src.label.end());
  dst.seq_label.insert(dst.seq_label.end(), src.seq_label.begin(), src.seq_label.end());
}

}  // namespace

Simulator::Simulator(SimulatorConfig config) : cfg_(std::move(config)) {
  const auto& c = cfg_;
  SEQ_CHECK(c.num_users >= 1, "simulator: num_users must be >= 1, got ", c.num_users);
  SEQ_CHECK(c.num_items >= 2, "simulator: num_items must be >= 2, got ", c.num_items);
  SEQ_CHECK(c.num_clusters >= 1 && c.num_clusters <= c.num_items, "simulator: num_clusters must be in [1, num_items=",
            c.num_items, "], got ", c.num_clusters);
  SEQ_CHECK(c.length_min >= 1 && c.length_min <= c.length_max, "simulator: need 1 <= length_min <= length_max, got ",
            c.length_min, " and ", c.length_max);
  SEQ_CHECK(c.successors >= 1, "simulator: successors must be >= 1, got ", c.successors);
  SEQ_CHECK(c.interests_per_user >= 1.0, "simulator: interests_per_user must be >= 1, got ", c.interests_per_user);
  SEQ_CHECK(c.session_mean_items >= 1.0, "simulator: session_mean_items must be >= 1, got ", c.session_mean_items);
  SEQ_CHECK(c.length_distribution == "lognormal" || c.length_distribution == "uniform",
            "simulator: length_distribution must be lognormal or uniform, got '", c.length_distribution, "'");
  SEQ_CHECK(c.funnel_events == "separate" || c.funnel_events == "deepest",
            "simulator: funnel_events must be separate or deepest, got '", c.funnel_events, "'");

  const int64_t V = c.num_items, C = c.num_clusters, K = c.successors;
  // Contiguous id ranges per cluster, sizes differing by at most one: a near-id slip (the
  // substitution injector) then usually stays inside the cluster, like a neighbour in a listing.
  cluster_begin_.resize(size_t(C) + 1);
  for (int64_t k = 0; k <= C; ++k) cluster_begin_[size_t(k)] = int32_t(1 + k * (V / C) + std::min(k, V % C));
  item_cluster_.assign(size_t(V) + 1, -1);
  item_weight_.assign(size_t(V) + 1, 0.0);
  item_cum_.assign(size_t(V) + 1, 0.0);
  for (int64_t k = 0; k < C; ++k) {
    int32_t b = cluster_begin_[size_t(k)], e = cluster_begin_[size_t(k) + 1];
    // Popularity rank is a random permutation of the cluster's ids, so id order carries no signal.
    std::vector<int32_t> rank(size_t(e - b));
    for (size_t i = 0; i < rank.size(); ++i) rank[i] = int32_t(i);
    Rng rng = stream_rng(c.seed, kStreamRank, uint64_t(k));
    for (size_t i = rank.size(); i > 1; --i) std::swap(rank[i - 1], rank[rng.below(i)]);
    double s = 0;
    for (int32_t id = b; id < e; ++id) {
      item_cluster_[size_t(id)] = int32_t(k);
      item_weight_[size_t(id)] = std::pow(double(rank[size_t(id - b)] + 1), -c.zipf_exponent);
      s += item_weight_[size_t(id)];
      item_cum_[size_t(id)] = s;
    }
  }
  cluster_weight_.resize(size_t(C));
  for (int64_t k = 0; k < C; ++k) cluster_weight_[size_t(k)] = std::pow(double(k + 1), -c.cluster_zipf_exponent);

  successor_cum_.resize(size_t(K));
  double s = 0;
  for (int64_t j = 0; j < K; ++j) successor_cum_[size_t(j)] = (s += 1.0 / double(j + 1));
  successors_.resize(size_t(V * K));
  for (int64_t id = 1; id <= V; ++id) {
    Rng rng = stream_rng(c.seed, kStreamSuccessor, uint64_t(id));
    int32_t k = item_cluster_[size_t(id)];
    bool alone = cluster_begin_[size_t(k) + 1] - cluster_begin_[size_t(k)] == 1;
    for (int64_t j = 0; j < K; ++j) {
      int32_t next = draw_item_in_cluster(k, rng);
      for (int tries = 0; next == id && !alone && tries < 16; ++tries) next = draw_item_in_cluster(k, rng);
      successors_[size_t((id - 1) * K + j)] = next;
    }
  }
}

int32_t Simulator::draw_item_in_cluster(int32_t k, Rng& rng) const {
  int32_t b = cluster_begin_[size_t(k)], e = cluster_begin_[size_t(k) + 1];
  double x = rng.uniform_double() * item_cum_[size_t(e - 1)];
  auto it = std::upper_bound(item_cum_.begin() + b, item_cum_.begin() + e, x);
  return std::min(int32_t(it - item_cum_.begin()), e - 1);
}

std::vector<double> Simulator::item_popularity() const {
  std::vector<double> p(size_t(num_items()) + 1, 0.0);
  double cw = 0;
  for (double w : cluster_weight_) cw += w;
  for (int64_t k = 0; k < num_clusters(); ++k) {
    int32_t b = cluster_begin_[size_t(k)], e = cluster_begin_[size_t(k) + 1];
    double total = item_cum_[size_t(e - 1)];
    for (int32_t id = b; id < e; ++id)
      p[size_t(id)] = cluster_weight_[size_t(k)] / cw * item_weight_[size_t(id)] / total;
  }
  return p;
}

void Simulator::simulate_user(int64_t u, SequenceSet& out) const {
  const auto& c = cfg_;
  Rng rng = stream_rng(c.seed, kStreamUser, uint64_t(u));
  const int64_t C = c.num_clusters, K = c.successors;

  int64_t length;
  if (c.length_distribution == "uniform") {
    length = c.length_min + int64_t(rng.below(uint64_t(c.length_max - c.length_min + 1)));
  } else {
    double x = draw_lognormal(rng, c.length_median, c.length_sigma);
    length = std::clamp(int64_t(std::llround(x)), c.length_min, c.length_max);
  }

  // Sparse interests, drawn by cluster popularity without repeats, with Dirichlet weights.
  DiscreteSampler cluster_sampler(cluster_weight_);
  auto new_cluster = [&](const Mixture& avoid) {
    int32_t k = int32_t(cluster_sampler.draw(rng));
    for (int tries = 0; mixture_has(avoid, k) && tries < 64; ++tries) k = int32_t(cluster_sampler.draw(rng));
    return k;
  };
  int64_t num_interests = std::min({1 + draw_poisson(rng, c.interests_per_user - 1.0), c.max_interests, C});
  Mixture cur;
  double total = 0;
  for (int64_t i = 0; i < num_interests; ++i) {
    int32_t k = new_cluster(cur);
    if (mixture_has(cur, k)) continue;  // only when nearly every cluster is taken already
    double w = std::max(draw_gamma(rng, c.interest_concentration), 1e-12);
    cur.emplace_back(k, w);
    total += w;
  }
  for (auto& e : cur) e.second /= total;
  Mixture target = cur;

  std::vector<int32_t> items;
  std::vector<int64_t> times;
  std::vector<int8_t> acts;
  items.reserve(size_t(length));
  double t = double(c.start_time) + rng.uniform_double() * c.start_span_days * 86400.0;
  auto emit = [&](int32_t item, int8_t act) {
    items.push_back(item);
    times.push_back(std::llround(t));
    acts.push_back(act);
  };
  const bool separate = c.actions && c.funnel_events == "separate";
  int32_t prev = 0;
  for (int64_t session = 0; int64_t(items.size()) < length; ++session) {
    if (session > 0) {
      t += draw_lognormal(rng, c.session_gap_median_hours * 3600.0, c.session_gap_sigma);
      if (rng.uniform_double() < c.retarget_prob) {
        size_t j = size_t(rng.below(target.size()));
        int32_t k = new_cluster(target);
        if (!mixture_has(target, k)) target[j].first = k;
      }
      drift_towards(cur, target, c.drift_rate);
    }
    int64_t steps = 1 + draw_geometric(rng, 1.0 / c.session_mean_items);
    int32_t cluster = draw_from_mixture(cur, rng);
    for (int64_t step = 0; step < steps && int64_t(items.size()) < length; ++step) {
      if (step > 0) {
        t += std::max(1.0, draw_lognormal(rng, c.item_gap_median_s, c.item_gap_sigma));
        if (rng.uniform_double() < c.interest_switch_prob) cluster = draw_from_mixture(cur, rng);
      }
      int32_t item;
      if (prev > 0 && item_cluster_[size_t(prev)] == cluster && rng.uniform_double() < c.markov_prob) {
        double x = rng.uniform_double() * successor_cum_.back();
        size_t j = size_t(std::upper_bound(successor_cum_.begin(), successor_cum_.end(), x) - successor_cum_.begin());
        item = successors_[size_t(prev - 1) * size_t(K) + std::min(j, size_t(K) - 1)];
      } else {
        item = draw_item_in_cluster(cluster, rng);
        if (item == prev) item = draw_item_in_cluster(cluster, rng);
      }
      prev = item;

      if (!c.actions) {
        emit(item, kActionNone);
        continue;
      }
      int8_t stage = kActionView;
      if (rng.uniform_double() < c.click_prob) {
        stage = kActionClick;
        if (rng.uniform_double() < c.cart_prob) {
          stage = kActionCart;
          if (rng.uniform_double() < c.buy_prob) stage = kActionBuy;
        }
      }
      if (!separate) {
        emit(item, stage);
        continue;
      }
      for (int8_t a = kActionView; a <= stage && int64_t(items.size()) < length; ++a) {
        if (a > kActionView) t += std::max(1.0, draw_lognormal(rng, c.funnel_gap_median_s, 0.7));
        emit(item, a);
      }
    }
  }

  std::vector<int8_t> labels(items.size(), kLabelClean);
  out.append(u, items.data(), int64_t(items.size()), c.timestamps ? times.data() : nullptr,
             c.actions ? acts.data() : nullptr, labels.data(), kLabelClean);
}

SequenceSet Simulator::generate(int64_t begin, int64_t end) const {
  SEQ_CHECK(0 <= begin && begin <= end && end <= cfg_.num_users, "simulator: user range [", begin, ", ", end,
            ") outside [0, ", cfg_.num_users, ")");
  SequenceSet out;
  for (int64_t u = begin; u < end; ++u) simulate_user(u, out);
  return out;
}

SequenceSet Simulator::generate(int threads) const {
  int64_t n = cfg_.num_users;
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  threads = int(std::min<int64_t>(threads, n));
  if (threads <= 1) return generate(0, n);
  std::vector<SequenceSet> parts(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&, i] {
      try {
        parts[size_t(i)] = generate(n * i / threads, n * (i + 1) / threads);
      } catch (...) {
        errors[size_t(i)] = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  SequenceSet out = std::move(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) append_set(out, parts[i]);
  return out;
}

}  // namespace seqmend
