// Next-item recommendation evaluation of a BERT4Rec model on the valid or test split of a shard set.
//
// For each user of the split (stored sequence e_1..e_L, L >= 1): the input is e_1..e_{L-1} with a mask
// token appended (the newest max_len − 1 events kept), the target is e_L. The hidden state at the
// mask token is scored against items 1..V through the tied output layer (hidden · item_tableᵀ +
// bias), and the target's rank is counted:
//
//   rank = #{ candidates j ≠ target : NOT (score_j < score_target) }
//
// i.e. ties count AGAINST the target (pessimistic), and so does a NaN on either side: a model whose
// scores are constant (or broken) gets the worst rank, never a good one.
//
// Protocols (EvalConfig::protocol):
//   full    — every item 1..V is a candidate: the published BERT4Rec / RecBole "full" ranking. With
//             exclude_history, the user's input items other than the target are removed from the
//             candidates (a target that also appears in the history stays ranked). Default: kept.
//   sampled — the target against `negatives` items (default 100) drawn without replacement from the
//             items outside the user's input and target, uniformly or in proportion to the item's
//             count in the train split (items never seen in train are then never drawn). The draws
//             are a pure function of (seed, user id), made once when the evaluator is built: they
//             depend neither on the model nor on batching or the number of processes.
//
// Scoring runs over row chunks of score_chunk_rows × V floats per thread; no (users × V) buffer
// exists. Scores come from kernels/item_scores.h, whose values do not depend on the chunking.
//
// Data parallel: every process reads the whole split; sequences are batched within a shard and the
// batches dealt round-robin to the processes, so a batch (and so its hidden states) is the same
// whichever process scores it. The per-user ranks are combined as a histogram summed in int64 (see
// experiments/eval/rank_metrics.h): 1 and N processes report identical numbers.
//
// Use from a training loop (build once, evaluate every K steps; every process calls evaluate):
//
//   RecEvaluator valid(ShardSet::open(data_dir), cfg.eval, comm);   // collective
//   ...
//   nlohmann::json m = valid.evaluate(model, comm);                  // collective, same on all ranks
//   run.append_metrics({{"step", step}, {"valid", m}});
//
// or, by split name: auto eval = make_split_evaluator(set, cfg.eval, comm); eval(model, "valid").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/sequence_set.h"

namespace seqmend {

class ItemTransformer;
class Communicator;
class ConfigVisitor;
class ShardSet;

struct EvalConfig {
  std::string split = "valid";          // valid | test: the target is the last stored event
  std::string protocol = "full";        // full | sampled
  bool exclude_history = false;         // full: drop the user's history items from the ranking
  int64_t negatives = 100;              // sampled: negatives per user
  std::string sampling = "uniform";     // sampled: uniform | popularity (train-split counts)
  uint64_t seed = 0;                    // sampled: negative draws per user from (seed, user id)
  std::vector<int64_t> ks = {1, 5, 10, 20};  // cut-offs of hr@K and ndcg@K
  int64_t batch_size = 256;             // sequences per forward pass
  int64_t score_chunk_rows = 32;        // rows scored against all items at once, per thread
                                        // (capped so the buffer stays <= 64 MiB)

  void visit(ConfigVisitor& v);
  void validate() const;  // throws naming the field and value
};

struct UserRank {
  int64_t user = 0;  // remapped user id
  int64_t rank = 0;  // 0 = target scored first
};

class RecEvaluator {
 public:
  // Reads cfg.split and keeps this process's batches (round-robin over comm's ranks). For the
  // popularity-sampled protocol it also counts items over the train split, each process its own
  // shards, summed over all processes. Collective.
  RecEvaluator(const ShardSet& set, const EvalConfig& cfg, Communicator& comm);
  // One process of `world` without a communicator: train_counts (V, counts of items 1..V) are
  // needed only for popularity sampling; left empty they are read from the whole train split.
  RecEvaluator(const ShardSet& set, const EvalConfig& cfg, int rank = 0, int world = 1,
               std::vector<int64_t> train_counts = {});
  // In memory: every SequenceSet is batched on its own, as a shard would be.
  RecEvaluator(std::vector<SequenceSet> shards, int64_t num_items, const EvalConfig& cfg,
               std::vector<int64_t> train_counts = {});

  // Ranks of this process's users, in load order. Users with an empty stored sequence have no
  // target and are skipped. Not collective.
  std::vector<UserRank> rank_users(ItemTransformer& model) const;
  // Every process's ranks, sorted by user, on every process: per-user comparisons of two models
  // (experiments/eval/user_bootstrap.h) need them. Collective.
  std::vector<UserRank> all_ranks(ItemTransformer& model, Communicator& comm) const;

  // Metrics over every process's users — {"hr@K", "ndcg@K" per K, "mrr", "num_users", "split",
  // "protocol": {"name", "negatives", "sampling", "exclude_history"}} — identical on every process
  // and for any number of processes. Collective.
  nlohmann::json evaluate(ItemTransformer& model, Communicator& comm) const;
  // The same on this process's users alone.
  nlohmann::json evaluate(ItemTransformer& model) const;

  nlohmann::json protocol_json() const;
  const EvalConfig& config() const { return cfg_; }
  int64_t num_items() const { return V_; }
  int64_t num_local_users() const { return int64_t(users_.size()); }
  // Sampled protocol: the negatives of local user i (load order).
  std::vector<int32_t> negatives_of(int64_t i) const;

 private:
  struct User {
    int64_t shard = 0, seq = 0;  // where its events are
    int64_t user = 0;
    int32_t target = 0;
    int64_t excluded_begin = 0, excluded_end = 0;  // into excluded_: sorted distinct, no target
    int64_t neg_begin = 0, neg_end = 0;            // into negatives_
  };
  void prepare(std::vector<int64_t> train_counts, int rank, int world);
  nlohmann::json finish(std::vector<UserRank> ranks, Communicator* comm) const;

  EvalConfig cfg_;
  int64_t V_ = 0;
  std::vector<SequenceSet> shards_;
  std::vector<User> users_;
  std::vector<int32_t> excluded_;
  std::vector<int32_t> negatives_;
};

// For a training loop that asks for a split by name: evaluates "valid" or "test" (cfg.split is
// ignored) with cfg's protocol on every rank of comm, building each split's RecEvaluator on its first
// use and keeping it. Collective: all ranks must ask for the same splits in the same order. Keeps a
// copy of `set`; `comm` must outlive the returned function.
std::function<nlohmann::json(ItemTransformer& model, const std::string& split)> make_split_evaluator(
    const ShardSet& set, const EvalConfig& cfg, Communicator& comm);

// Item counts (V) of a whole split, or of the given shards of it.
std::vector<int64_t> count_split_items(const ShardSet& set, const std::string& split,
                                       const std::vector<int64_t>* shards = nullptr);

}  // namespace seqmend
