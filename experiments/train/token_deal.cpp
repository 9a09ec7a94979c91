#include "experiments/train/token_deal.h"

#include <algorithm>
#include <numeric>

#include "core/base/error.h"

namespace seqmend {

std::vector<int> deal_by_tokens(const std::vector<int64_t>& cost, int world) {
  SEQ_CHECK(world >= 1, "deal_by_tokens: world must be >= 1, got ", world);
  std::vector<size_t> order(cost.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  // Least-loaded rank, lowest on ties: a heap of (load, rank) popped smallest first.
  std::vector<std::pair<int64_t, int>> heap;
  for (int r = 0; r < world; ++r) heap.push_back({0, r});
  auto later = [](const std::pair<int64_t, int>& a, const std::pair<int64_t, int>& b) { return a > b; };
  std::make_heap(heap.begin(), heap.end(), later);
  std::vector<int> rank_of(cost.size(), 0);
  for (size_t i : order) {
    std::pop_heap(heap.begin(), heap.end(), later);
    auto& [load, r] = heap.back();
    rank_of[i] = r;
    load += cost[i];
    std::push_heap(heap.begin(), heap.end(), later);
  }
  return rank_of;
}

double token_balance(const std::vector<int64_t>& cost, const std::vector<int>& rank_of, int world) {
  SEQ_CHECK(cost.size() == rank_of.size(), "token_balance: ", cost.size(), " costs, ", rank_of.size(), " ranks");
  std::vector<int64_t> load(static_cast<size_t>(world), 0);
  for (size_t i = 0; i < cost.size(); ++i) load[size_t(rank_of[i])] += cost[i];
  const int64_t total = std::accumulate(load.begin(), load.end(), int64_t(0));
  if (total == 0) return 1.0;
  return double(*std::max_element(load.begin(), load.end())) * double(world) / double(total);
}

}  // namespace seqmend
