#include "core/batch.h"

#include <algorithm>
#include <bit>

#include "core/base/rng.h"

namespace seqmend {

int time_gap_bucket(int64_t gap_seconds, bool known, int num_buckets) {
  if (!known || num_buckets <= 1) return 0;
  int b = gap_seconds <= 0 ? 1 : 2 + (63 - std::countl_zero(uint64_t(gap_seconds)));
  return b < num_buckets ? b : num_buckets - 1;
}

void Batch::validate(const ModelConfig& cfg) const {
  SEQ_CHECK(int64_t(cu_seqlens.size()) == B + 1 && cu_seqlens[0] == 0 && cu_seqlens[size_t(B)] == N,
            "batch: cu_seqlens has ", cu_seqlens.size(), " entries ending at ",
            cu_seqlens.empty() ? -1 : cu_seqlens.back(), ", expected ", B + 1, " ending at N=", N);
  for (int64_t b = 0; b < B; ++b)
    SEQ_CHECK(seq_len(b) >= 0 && seq_len(b) <= cfg.max_len, "batch: sequence ", b, " has length ",
              seq_len(b), ", outside [0, max_len=", cfg.max_len, "]");
  for (const auto* v : {&item, &position, &action, &gap})
    SEQ_CHECK(int64_t(v->size()) == N, "batch: a token column has ", v->size(), " entries, expected N=", N);
  SEQ_CHECK(int64_t(token_keys.size()) == N, "batch: token_keys has ", token_keys.size(),
            " entries, expected N=", N);
  for (int64_t n = 0; n < N; ++n) {
    SEQ_CHECK(item[size_t(n)] >= 1 && item[size_t(n)] <= cfg.mask_token(), "batch: token ", n,
              " has item id ", item[size_t(n)], ", outside [1, ", cfg.mask_token(), "]");
    SEQ_CHECK(position[size_t(n)] >= 0 && position[size_t(n)] < cfg.max_len, "batch: token ", n,
              " has position ", position[size_t(n)], ", outside [0, ", cfg.max_len, ")");
    SEQ_CHECK(action[size_t(n)] >= 0 && action[size_t(n)] < cfg.num_actions, "batch: token ", n,
              " has action ", action[size_t(n)], ", outside [0, num_actions=", cfg.num_actions, ")");
    SEQ_CHECK(gap[size_t(n)] >= 0 && gap[size_t(n)] < cfg.num_gap_buckets, "batch: token ", n,
              " has gap bucket ", gap[size_t(n)], ", outside [0, ", cfg.num_gap_buckets, ")");
  }
  SEQ_CHECK(target_items.size() == target_rows.size(), "batch: ", target_rows.size(),
            " target rows but ", target_items.size(), " target items");
  for (size_t m = 0; m < target_rows.size(); ++m) {
    SEQ_CHECK(target_rows[m] >= 0 && target_rows[m] < N && (m == 0 || target_rows[m] > target_rows[m - 1]),
              "batch: target row ", m, " is ", target_rows[m], " (rows must ascend within [0, N=", N, "))");
    SEQ_CHECK(target_items[m] >= 0 && target_items[m] <= cfg.num_items, "batch: target ", m,
              " has item id ", target_items[m], ", outside [1, num_items=", cfg.num_items, "]");
  }
}

namespace {

// Appends the newest `keep` events of s at positions T − keep − tail .. T − tail − 1, where tail
// columns are left for tokens appended afterwards.
void append_events(Batch& b, const SequenceView& s, int64_t keep, int64_t tail, const ModelConfig& cfg) {
  const int64_t len = int64_t(s.items.size());
  SEQ_CHECK(s.timestamps.empty() || int64_t(s.timestamps.size()) == len, "batch: sample ", s.sample_id,
            " has ", s.timestamps.size(), " timestamps for ", len, " items");
  SEQ_CHECK(s.actions.empty() || int64_t(s.actions.size()) == len, "batch: sample ", s.sample_id,
            " has ", s.actions.size(), " actions for ", len, " items");
  const int64_t first = len - keep;
  const int64_t pos0 = cfg.max_len - keep - tail;
  for (int64_t i = first; i < len; ++i) {
    int32_t id = s.items[size_t(i)];
    SEQ_CHECK(id >= 1 && id <= cfg.num_items, "batch: sample ", s.sample_id, " event ", i, " has item id ",
              id, ", outside [1, num_items=", cfg.num_items, "]");
    int32_t pos = int32_t(pos0 + (i - first));
    b.item.push_back(id);
    b.position.push_back(pos);
    int act = s.actions.empty() ? 0 : s.actions[size_t(i)];
    SEQ_CHECK(act >= 0 && act < cfg.num_actions, "batch: sample ", s.sample_id, " event ", i,
              " has action ", act, ", outside [0, num_actions=", cfg.num_actions, ")");
    b.action.push_back(act);
    // The first kept event's predecessor may have been truncated away: its gap is still known.
    bool known = !s.timestamps.empty() && i > 0;
    int64_t g = known ? s.timestamps[size_t(i)] - s.timestamps[size_t(i) - 1] : 0;
    b.gap.push_back(time_gap_bucket(g, known, cfg.num_gap_buckets));
    b.token_keys.push_back(hash_combine(uint64_t(s.sample_id), uint64_t(pos)));
  }
}

void start(Batch& b, size_t n) {
  b.B = int64_t(n);
  b.cu_seqlens.assign(1, 0);
  b.sample_id.clear();
}

void finish_sequence(Batch& b, const SequenceView& s) {
  b.sample_id.push_back(s.sample_id);
  b.cu_seqlens.push_back(int64_t(b.item.size()));
  b.N = int64_t(b.item.size());
}

}  // namespace

Batch make_plain_batch(const std::vector<SequenceView>& seqs, const ModelConfig& cfg) {
  Batch b;
  start(b, seqs.size());
  for (const SequenceView& s : seqs) {
    append_events(b, s, std::min<int64_t>(int64_t(s.items.size()), cfg.max_len), 0, cfg);
    finish_sequence(b, s);
  }
  return b;
}

Batch make_cloze_batch(const std::vector<SequenceView>& seqs, const ModelConfig& cfg,
                       const ClozeOptions& opt) {
  SEQ_CHECK(opt.mask_prob >= 0.0f && opt.mask_prob <= 1.0f, "cloze batch: mask_prob ", opt.mask_prob,
            " is outside [0, 1]");
  Batch b = make_plain_batch(seqs, cfg);
  const uint64_t stream_seed = hash_combine(opt.seed, opt.epoch);
  const int32_t mask = int32_t(cfg.mask_token());
  for (int64_t s = 0; s < b.B; ++s) {
    const int64_t begin = b.cu_seqlens[size_t(s)], len = b.seq_len(s);
    if (len == 0) continue;
    Rng rng(stream_seed, uint64_t(b.sample_id[size_t(s)]));
    const size_t before = b.target_rows.size();
    for (int64_t i = 0; i < len; ++i) {
      if (rng.uniform() < opt.mask_prob) b.target_rows.push_back(begin + i);
    }
    if (b.target_rows.size() == before) b.target_rows.push_back(begin + int64_t(rng.below(uint64_t(len))));
    for (size_t m = before; m < b.target_rows.size(); ++m) {
      int32_t& id = b.item[size_t(b.target_rows[m])];
      b.target_items.push_back(id);
      id = mask;
    }
  }
  return b;
}

Batch make_causal_batch(const std::vector<SequenceView>& seqs, const ModelConfig& cfg) {
  Batch b;
  start(b, seqs.size());
  for (const SequenceView& v : seqs) {
    const int64_t len = int64_t(v.items.size());
    if (len >= 2) {
      const SequenceView inputs = v.prefix(size_t(len - 1));  // all but the newest event
      const int64_t keep = std::min<int64_t>(len - 1, cfg.max_len);
      const int64_t row0 = int64_t(b.item.size());
      append_events(b, inputs, keep, 0, cfg);
      for (int64_t i = 0; i < keep; ++i) {
        b.target_rows.push_back(row0 + i);
        b.target_items.push_back(v.items[size_t(len - keep + i)]);
      }
    }
    finish_sequence(b, v);
  }
  return b;
}

Batch make_next_item_batch(const std::vector<SequenceView>& seqs, const ModelConfig& cfg,
                           const std::vector<int32_t>* targets) {
  SEQ_CHECK(!targets || targets->size() == seqs.size(), "next-item batch: ", targets->size(),
            " targets for ", seqs.size(), " sequences");
  Batch b;
  start(b, seqs.size());
  for (size_t s = 0; s < seqs.size(); ++s) {
    const SequenceView& v = seqs[s];
    if (cfg.causal() && !v.items.empty()) {
      append_events(b, v, std::min<int64_t>(int64_t(v.items.size()), cfg.max_len), 0, cfg);
      b.target_rows.push_back(int64_t(b.item.size()) - 1);
      b.target_items.push_back(targets ? (*targets)[s] : 0);
      finish_sequence(b, v);
      continue;
    }
    append_events(b, v, std::min<int64_t>(int64_t(v.items.size()), cfg.max_len - 1), 1, cfg);
    const int32_t pos = cfg.max_len - 1;
    b.target_rows.push_back(int64_t(b.item.size()));
    b.target_items.push_back(targets ? (*targets)[s] : 0);
    b.item.push_back(int32_t(cfg.mask_token()));
    b.position.push_back(pos);
    b.action.push_back(0);
    b.gap.push_back(0);
    b.token_keys.push_back(hash_combine(uint64_t(v.sample_id), uint64_t(pos)));
    finish_sequence(b, v);
  }
  return b;
}

}  // namespace seqmend
