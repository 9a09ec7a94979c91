// Behaviour simulator: synthetic user sequences with structure worth learning.
//
// The world (built once from the seed): items 1..V are split into contiguous id ranges, one per
// interest cluster; items inside a cluster and the clusters themselves have Zipf popularity; every
// item has a short, fixed list of follow-up items in its own cluster (a per-cluster Markov chain —
// the co-visitation structure a sequence model can learn beyond popularity).
//
// A user (one sequence): a sparse interest mixture over a few clusters that drifts from session to
// session; sessions separated by hours–days; inside a session, item steps seconds–minutes apart,
// each step picks an item from the current interest (following the chain or by popularity) and runs
// it through the view → click → cart → buy funnel.
//
// Determinism: user u's sequence is a pure function of (seed, u), so any thread count and any
// subset of users give the same bytes.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/rng.h"
#include "io/sequence_set.h"
#include "io/simulator_config.h"

namespace seqmend {

class Simulator {
 public:
  // Checks the config (throws seqmend::Error naming the key) and builds the item world.
  explicit Simulator(SimulatorConfig config);

  const SimulatorConfig& config() const { return cfg_; }
  int64_t num_items() const { return cfg_.num_items; }
  int64_t num_clusters() const { return cfg_.num_clusters; }

  // Sequences of users [begin, end) with every column the config asks for; label/seq_label are
  // present and all kLabelClean (the simulator's output is the clean ground truth).
  SequenceSet generate(int64_t begin, int64_t end) const;
  // All users, split over `threads` worker threads (0 = hardware concurrency); same result for any count.
  SequenceSet generate(int threads = 0) const;

  // (V + 1) cluster of each item id; entry 0 (padding) is -1. Pass to the injectors so noise items
  // are drawn outside the user's clusters.
  const std::vector<int32_t>& item_cluster() const { return item_cluster_; }
  // First item id of each cluster: cluster c owns ids [cluster_begin[c], cluster_begin[c + 1]).
  const std::vector<int32_t>& cluster_begin() const { return cluster_begin_; }
  // (V + 1) expected share of item draws by popularity alone (cluster share × in-cluster share).
  std::vector<double> item_popularity() const;
  // (V · successors) follow-up items of item i at [(i - 1)·K, i·K), most likely first.
  const std::vector<int32_t>& successors() const { return successors_; }

 private:
  void simulate_user(int64_t u, SequenceSet& out) const;
  int32_t draw_item_in_cluster(int32_t c, Rng& rng) const;

  SimulatorConfig cfg_;
  std::vector<int32_t> item_cluster_;    // (V + 1)
  std::vector<int32_t> cluster_begin_;   // (C + 1)
  std::vector<double> item_weight_;      // (V + 1) in-cluster Zipf weight, unnormalised
  std::vector<double> item_cum_;         // (V + 1) running sum of item_weight_ within each cluster
  std::vector<double> cluster_weight_;   // (C) cluster Zipf weight
  std::vector<int32_t> successors_;      // (V · K)
  std::vector<double> successor_cum_;    // (K) cumulative Zipf(1) weights of successor slots
};

}  // namespace seqmend
