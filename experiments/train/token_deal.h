// Dealing a batch's sequences to ranks so that each gets an even share of the work, measured in
// tokens: longest first (ties by position), each to the least-loaded rank (the lowest on ties).
// A pure function of the costs and the world size, so every rank computes the same deal without
// talking to the others. Greedy longest-first leaves the ranks within one sequence's cost of each
// other (max − min ≤ the largest cost dealt), which on batches of tens of sequences per rank is a
// max/mean of a few percent (tests/experiments/token_deal_test.cpp; the table for ML-100K and a
// simulated 1M-user set is in ARCHITECTURE.md, from bench/loader_scale.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace seqmend {

// rank of each position: (cost.size()) values in [0, world).
std::vector<int> deal_by_tokens(const std::vector<int64_t>& cost, int world);

// max over ranks / mean over ranks of the tokens of a deal (1 = even; 1 when nothing was dealt).
double token_balance(const std::vector<int64_t>& cost, const std::vector<int>& rank_of, int world);

}  // namespace seqmend
