#include "experiments/eval/rec_eval.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

#include "core/base/error.h"
#include "core/batch.h"
#include "core/item_scorer.h"
#include "core/model.h"
#include "distributed/communicator.h"
#include "experiments/eval/negative_sampler.h"
#include "experiments/eval/rank_metrics.h"
#include "io/config.h"
#include "io/shard_set.h"

namespace seqmend {

void EvalConfig::visit(ConfigVisitor& v) {
  v.choice("split", split, {"valid", "test"}, "split evaluated; the target is each sequence's last event");
  v.choice("protocol", protocol, {"full", "sampled"},
           "full: rank the target among all items; sampled: among `negatives` sampled items");
  v.field("exclude_history", exclude_history,
          "full protocol: remove the user's history items (other than the target) from the ranking");
  v.field("negatives", negatives, "sampled protocol: negatives per user", 1, int64_t(1) << 30);
  v.choice("sampling", sampling, {"uniform", "popularity"},
           "sampled protocol: negatives uniform, or by item count in the train split");
  v.field("seed", seed, "sampled protocol: negatives of a user are drawn from (seed, user id)");
  v.field("ks", ks, "cut-offs K of hr@K and ndcg@K", 1, int64_t(1) << 30);
  v.field("batch_size", batch_size, "sequences per forward pass", 1, int64_t(1) << 24);
  v.field("score_chunk_rows", score_chunk_rows,
          "rows scored against every item at once, per thread (buffer rows × num_items floats)", 1,
          int64_t(1) << 20);
}

void EvalConfig::validate() const {
  SEQ_CHECK(split == "valid" || split == "test", "eval config: split must be valid or test, got '",
            split, "'");
  SEQ_CHECK(protocol == "full" || protocol == "sampled",
            "eval config: protocol must be full or sampled, got '", protocol, "'");
  SEQ_CHECK(sampling == "uniform" || sampling == "popularity",
            "eval config: sampling must be uniform or popularity, got '", sampling, "'");
  SEQ_CHECK(negatives >= 1, "eval config: negatives must be >= 1, got ", negatives);
  SEQ_CHECK(!ks.empty(), "eval config: ks is empty");
  for (int64_t k : ks) SEQ_CHECK(k >= 1, "eval config: ks holds ", k, ", cut-offs must be >= 1");
  SEQ_CHECK(batch_size >= 1, "eval config: batch_size must be >= 1, got ", batch_size);
  SEQ_CHECK(score_chunk_rows >= 1, "eval config: score_chunk_rows must be >= 1, got ", score_chunk_rows);
}

namespace {

bool needs_train_counts(const EvalConfig& cfg) {
  return cfg.protocol == "sampled" && cfg.sampling == "popularity";
}

std::vector<SequenceSet> load_shards(const ShardSet& set, const std::string& split,
                                     const std::vector<int64_t>& indices) {
  std::vector<SequenceSet> out;
  for (int64_t k : indices) {
    ShardReader reader(set, split, {k});
    SequenceSet s;
    reader.next(s, std::numeric_limits<int64_t>::max());  // the whole shard (a single one selected)
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::vector<int64_t> count_split_items(const ShardSet& set, const std::string& split,
                                       const std::vector<int64_t>* shards) {
  std::vector<int64_t> all;
  if (!shards) {
    all.resize(size_t(set.split(split).num_shards()));
    for (size_t k = 0; k < all.size(); ++k) all[k] = int64_t(k);
  }
  std::vector<int64_t> counts(size_t(set.num_items()), 0);
  ShardReader reader(set, split, shards ? *shards : all);
  SequenceSet batch;
  while (reader.next(batch, 1 << 16))
    for (int32_t item : batch.item) ++counts[size_t(item) - 1];  // the reader checked 1..V
  return counts;
}

RecEvaluator::RecEvaluator(const ShardSet& set, const EvalConfig& cfg, int rank, int world,
                           std::vector<int64_t> train_counts)
    : cfg_(cfg), V_(set.num_items()) {
  cfg_.validate();
  SEQ_CHECK(world >= 1 && rank >= 0 && rank < world, "RecEvaluator: rank ", rank, " of ", world);
  std::vector<int64_t> all(size_t(set.split(cfg_.split).num_shards()));
  for (size_t k = 0; k < all.size(); ++k) all[k] = int64_t(k);
  shards_ = load_shards(set, cfg_.split, all);
  if (needs_train_counts(cfg_) && train_counts.empty()) train_counts = count_split_items(set, "train");
  prepare(std::move(train_counts), rank, world);
}

RecEvaluator::RecEvaluator(std::vector<SequenceSet> shards, int64_t num_items, const EvalConfig& cfg,
                           std::vector<int64_t> train_counts)
    : cfg_(cfg), V_(num_items), shards_(std::move(shards)) {
  cfg_.validate();
  for (const SequenceSet& s : shards_) s.validate(V_);
  prepare(std::move(train_counts), 0, 1);
}

RecEvaluator::RecEvaluator(const ShardSet& set, const EvalConfig& cfg, Communicator& comm)
    : RecEvaluator(set, cfg, comm.rank(), comm.world(), [&] {
        // Popularity weights are global train counts: each process counts its own train shards and
        // the int64 sums are exact, so every process gets the same weights (and the same negatives).
        std::vector<int64_t> counts;
        EvalConfig checked = cfg;
        checked.validate();
        if (checked.protocol == "sampled" && checked.sampling == "popularity") {
          const std::vector<int64_t> mine =
              assign_shards(set.split("train").num_shards(), comm.rank(), comm.world());
          counts = count_split_items(set, "train", &mine);
          comm.allreduce_sum(counts.data(), counts.size());
        }
        return counts;
      }()) {}

void RecEvaluator::prepare(std::vector<int64_t> train_counts, int rank, int world) {
  SEQ_CHECK(V_ >= 1, "RecEvaluator: num_items must be >= 1, got ", V_);
  const bool sampled = cfg_.protocol == "sampled";
  const bool exclude = !sampled && cfg_.exclude_history;
  std::unique_ptr<NegativeSampler> sampler;
  if (sampled) {
    if (needs_train_counts(cfg_))
      SEQ_CHECK(int64_t(train_counts.size()) == V_, "RecEvaluator: popularity sampling needs ", V_,
                " train item counts, got ", train_counts.size());
    sampler = std::make_unique<NegativeSampler>(V_, needs_train_counts(cfg_) ? &train_counts : nullptr);
  }
  std::vector<int32_t> hist;
  // Batches are cut per shard (batch_size users each, a shard's last one short) the same way for any
  // number of processes, and dealt round-robin: batch b is scored by process b % world, so a
  // one-shard split is scored by every process and each batch's hidden states are the same bits.
  int64_t batch = -1;
  for (size_t sh = 0; sh < shards_.size(); ++sh) {
    const SequenceSet& s = shards_[sh];
    int64_t in_shard = 0;
    for (int64_t q = 0; q < s.num_sequences(); ++q) {
      const int64_t L = s.length(q), off = s.offsets[size_t(q)];
      if (L == 0) continue;  // nothing to predict
      if (in_shard++ % cfg_.batch_size == 0) ++batch;
      if (batch % world != rank) continue;
      User u;
      u.shard = int64_t(sh);
      u.seq = q;
      u.user = s.user[size_t(q)];
      u.target = s.item[size_t(off + L - 1)];
      if (exclude || sampled) {
        hist.assign(s.item.begin() + off, s.item.begin() + off + L - 1);
        if (sampled) hist.push_back(u.target);  // negatives avoid history and target
        std::sort(hist.begin(), hist.end());
        hist.erase(std::unique(hist.begin(), hist.end()), hist.end());
        if (exclude) {  // the target stays a candidate even when it is also in the history
          hist.erase(std::remove(hist.begin(), hist.end(), u.target), hist.end());
          u.excluded_begin = int64_t(excluded_.size());
          excluded_.insert(excluded_.end(), hist.begin(), hist.end());
          u.excluded_end = int64_t(excluded_.size());
        } else {
          const std::vector<int32_t> neg = sampler->draw(cfg_.seed, u.user, cfg_.negatives, hist);
          u.neg_begin = int64_t(negatives_.size());
          negatives_.insert(negatives_.end(), neg.begin(), neg.end());
          u.neg_end = int64_t(negatives_.size());
        }
      }
      users_.push_back(u);
    }
  }
}

std::vector<int32_t> RecEvaluator::negatives_of(int64_t i) const {
  SEQ_CHECK(i >= 0 && i < num_local_users(), "RecEvaluator::negatives_of: user index ", i,
            " outside [0, ", num_local_users(), ")");
  const User& u = users_[size_t(i)];
  return {negatives_.begin() + u.neg_begin, negatives_.begin() + u.neg_end};
}

nlohmann::json RecEvaluator::protocol_json() const {
  const bool sampled = cfg_.protocol == "sampled";
  return {{"name", cfg_.protocol},
          {"negatives", sampled ? cfg_.negatives : 0},
          {"sampling", sampled ? cfg_.sampling : std::string("none")},
          // sampled negatives never include the history, whatever the flag says
          {"exclude_history", sampled || cfg_.exclude_history}};
}

std::vector<UserRank> RecEvaluator::rank_users(ItemTransformer& model) const {
  const ModelConfig& mc = model.config();
  SEQ_CHECK(mc.num_items == V_, "RecEvaluator: the model has num_items ", mc.num_items,
            " but the ", cfg_.split, " data has ", V_, " items");
  const int C = mc.d_model;
  const int64_t V = V_;
  const ItemScorer scorer(model);  // on the host: a model on the GPU lends a copy
  const bool sampled = cfg_.protocol == "sampled";
  // Scores buffer per thread: chunk × V floats, capped at 64 MiB for large vocabularies (ranks do
  // not depend on the chunking).
  const int64_t chunk = std::max<int64_t>(1, std::min(cfg_.score_chunk_rows, (int64_t(16) << 20) / V));

  std::vector<UserRank> out(users_.size());
  std::vector<SequenceView> views;
  std::vector<int32_t> targets;
  for (size_t b0 = 0; b0 < users_.size();) {
    // A batch never crosses a shard: a shard's batches are the same on any number of processes.
    size_t b1 = b0;
    while (b1 < users_.size() && int64_t(b1 - b0) < cfg_.batch_size && users_[b1].shard == users_[b0].shard)
      ++b1;
    const SequenceSet& s = shards_[size_t(users_[b0].shard)];
    views.clear();
    targets.clear();
    for (size_t i = b0; i < b1; ++i) {
      const User& u = users_[i];
      const int64_t off = s.offsets[size_t(u.seq)], n = s.length(u.seq) - 1;  // input: all but the target
      SequenceView v;
      v.items = {s.item.data() + off, size_t(n)};
      if (s.has_timestamps()) v.timestamps = {s.timestamp.data() + off, size_t(n)};
      if (s.has_actions()) v.actions = {s.action.data() + off, size_t(n)};
      v.sample_id = u.user;
      views.push_back(v);
      targets.push_back(u.target);
    }
    const Batch batch = make_next_item_batch(views, mc, &targets);
    const Tensor hidden = model.hidden_at(batch, batch.target_rows);  // (M, C), row m ↔ user b0 + m
    const float* H = hidden.data<float>();
    const int64_t M = int64_t(b1 - b0);
    const int64_t num_chunks = (M + chunk - 1) / chunk;

#pragma omp parallel if (num_chunks > 1)
    {
      std::vector<float> scores;  // (chunk, V) full; (1 + negatives) sampled
      std::vector<int32_t> cand;
#pragma omp for schedule(static)
      for (int64_t c = 0; c < num_chunks; ++c) {
        const int64_t r0 = c * chunk, n = std::min(chunk, M - r0);
        if (!sampled) {
          scores.resize(size_t(n * V));
          scorer.scores(H + r0 * C, n, scores.data());
        }
        for (int64_t r = r0; r < r0 + n; ++r) {
          const User& u = users_[b0 + size_t(r)];
          int64_t rank = 0;
          if (!sampled) {
            const float* sc = scores.data() + (r - r0) * V;
            const float st = sc[u.target - 1];
            // NOT(s < st): ties and NaNs count against the target; the target counts itself once.
            int64_t at_least = 0;
            for (int64_t j = 0; j < V; ++j) at_least += !(sc[j] < st);
            for (int64_t e = u.excluded_begin; e < u.excluded_end; ++e)
              at_least -= !(sc[excluded_[size_t(e)] - 1] < st);
            rank = at_least - 1;
          } else {
            cand.assign(1, u.target);
            for (int64_t e = u.neg_begin; e < u.neg_end; ++e) cand.push_back(negatives_[size_t(e)]);
            scores.resize(cand.size());
            scorer.scores_at(H + r * C, cand.data(), int64_t(cand.size()), scores.data());
            for (size_t j = 1; j < cand.size(); ++j) rank += !(scores[j] < scores[0]);
          }
          out[b0 + size_t(r)] = {u.user, rank};
        }
      }
    }
    b0 = b1;
  }
  return out;
}

nlohmann::json RecEvaluator::finish(std::vector<UserRank> ranks, Communicator* comm) const {
  RankHistogram h(cfg_.protocol == "sampled" ? cfg_.negatives : V_ - 1);
  for (const UserRank& r : ranks) h.add(r.rank);
  if (comm) h.sum_over(*comm);
  nlohmann::json j = rank_metrics(h, cfg_.ks);
  j["split"] = cfg_.split;
  j["protocol"] = protocol_json();
  return j;
}

nlohmann::json RecEvaluator::evaluate(ItemTransformer& model, Communicator& comm) const {
  return finish(rank_users(model), &comm);
}

nlohmann::json RecEvaluator::evaluate(ItemTransformer& model) const { return finish(rank_users(model), nullptr); }

std::vector<UserRank> RecEvaluator::all_ranks(ItemTransformer& model, Communicator& comm) const {
  std::vector<UserRank> mine = rank_users(model);
  // allgather takes the same byte count from every rank: agree on the longest list, pad with user −1.
  const int64_t count = int64_t(mine.size());
  const std::vector<std::byte> counts = comm.allgather(&count, sizeof(count));
  int64_t longest = 0;
  for (int r = 0; r < comm.world(); ++r) {
    int64_t theirs = 0;
    std::memcpy(&theirs, counts.data() + size_t(r) * sizeof(int64_t), sizeof(int64_t));
    longest = std::max(longest, theirs);
  }
  mine.resize(size_t(longest), UserRank{-1, 0});
  const std::vector<std::byte> all = comm.allgather(mine.data(), mine.size() * sizeof(UserRank));
  std::vector<UserRank> out;
  for (size_t i = 0; i < all.size() / sizeof(UserRank); ++i) {
    UserRank r;
    std::memcpy(&r, all.data() + i * sizeof(UserRank), sizeof(UserRank));
    if (r.user >= 0) out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const UserRank& a, const UserRank& b) { return a.user < b.user; });
  return out;
}


std::function<nlohmann::json(ItemTransformer&, const std::string&)> make_split_evaluator(
    const ShardSet& set, const EvalConfig& cfg, Communicator& comm) {
  auto evaluators = std::make_shared<std::map<std::string, std::unique_ptr<RecEvaluator>>>();
  auto data = std::make_shared<ShardSet>(set);
  Communicator* c = &comm;
  return [evaluators, data, cfg, c](ItemTransformer& model, const std::string& split) {
    std::unique_ptr<RecEvaluator>& ev = (*evaluators)[split];
    if (!ev) {
      EvalConfig split_cfg = cfg;
      split_cfg.split = split;
      ev = std::make_unique<RecEvaluator>(*data, split_cfg, *c);
    }
    return ev->evaluate(model, *c);
  };
}

}  // namespace seqmend
