// A batch of packed sequences, the model's only input. Sequences are packed back to back (no padding
// FLOPs): sequence b owns tokens [cu_seqlens[b], cu_seqlens[b+1]). Each token still remembers its
// column in the right-aligned padded row (BERT4Rec pads on the left, so the newest event of every
// sequence sits at position T − 1) — that column picks the position embedding.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/model_config.h"

namespace seqmend {

// One user's events, oldest first. timestamps/actions may be empty (unknown).
struct SequenceView {
  std::span<const int32_t> items;       // (len) item ids 1..V
  std::span<const int64_t> timestamps;  // (len) seconds, or empty
  std::span<const int8_t> actions;      // (len) action codes, or empty (→ 0)
  int64_t sample_id = 0;                // stable id: drives masking and dropout keys

  // The oldest n events (n <= length), same sample id.
  SequenceView prefix(size_t n) const {
    SequenceView p = *this;
    p.items = items.first(n);
    if (!timestamps.empty()) p.timestamps = timestamps.first(n);
    if (!actions.empty()) p.actions = actions.first(n);
    return p;
  }
};

struct Batch {
  int64_t B = 0;                   // sequences
  int64_t N = 0;                   // packed tokens
  std::vector<int64_t> cu_seqlens; // (B + 1)
  std::vector<int64_t> sample_id;  // (B)
  std::vector<int32_t> item;       // (N) input item ids (mask token where masked)
  std::vector<int32_t> position;   // (N) column in the right-aligned padded row, 0..T−1
  std::vector<int32_t> action;     // (N) action code
  std::vector<int32_t> gap;        // (N) time-gap bucket, 0 = unknown / first event
  std::vector<uint64_t> token_keys;// (N) hash_combine(sample_id, position): dropout identity
  std::vector<int64_t> target_rows;  // (M) packed token index carrying a target, ascending
  std::vector<int32_t> target_items; // (M) the item to predict there (0 = unknown, scoring only)

  int64_t M() const { return int64_t(target_rows.size()); }
  int64_t seq_len(int64_t b) const { return cu_seqlens[size_t(b) + 1] - cu_seqlens[size_t(b)]; }

  // Throws seqmend::Error naming the field, row and value of the first inconsistency.
  void validate(const ModelConfig& cfg) const;
};

// Log-scale bucket of the seconds between two consecutive events:
//   0 = unknown (first event, no timestamps), 1 = gap <= 0 (same second or out of order),
//   2 + floor(log2(gap)) for gap >= 1, capped at num_buckets − 1.
int time_gap_bucket(int64_t gap_seconds, bool known, int num_buckets);

// Packs sequences without masking (all inputs as given, no targets). Sequences longer than T keep
// their newest T events; an empty sequence is allowed and contributes no tokens.
Batch make_plain_batch(const std::vector<SequenceView>& seqs, const ModelConfig& cfg);

struct ClozeOptions {
  float mask_prob = 0.2f;
  uint64_t seed = 0;
  uint64_t epoch = 0;  // or step: anything that should give a fresh masking
};

// BERT4Rec cloze masking: each event is replaced by the mask token with probability mask_prob and
// becomes a target; a non-empty sequence with no masked event gets one at a random position. The
// decisions depend only on (seed, epoch, sample_id) and the sequence, never on the batch layout:
// sample s draws from Rng(hash_combine(seed, epoch), s), one uniform per event oldest first, then
// below(len) if nothing was masked.
Batch make_cloze_batch(const std::vector<SequenceView>& seqs, const ModelConfig& cfg,
                       const ClozeOptions& opt);

// Next-item training for a causal (SASRec-style) encoder: every event but the newest is an input
// whose target is the event after it (the newest T + 1 events are used), so a sequence of n events
// gives min(n − 1, T) targets; a sequence of fewer than 2 events contributes nothing.
Batch make_causal_batch(const std::vector<SequenceView>& seqs, const ModelConfig& cfg);

// Next-item evaluation: the newest T − 1 events followed by a mask token (gap and action unknown) that
// is the single target row of its sequence; target_items from `targets` (one per sequence) or 0.
// A causal encoder (cfg.causal()) reads its prediction from the newest event's state instead, as it was
// trained (make_causal_batch): the newest T events and no mask token, except that an empty history
// is a lone mask token.
Batch make_next_item_batch(const std::vector<SequenceView>& seqs, const ModelConfig& cfg,
                           const std::vector<int32_t>* targets = nullptr);

}  // namespace seqmend
