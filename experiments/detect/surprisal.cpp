#include "experiments/detect/surprisal.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "core/item_scorer.h"
#include "experiments/run/dp_group.h"
#include "experiments/run/owned_values.h"

namespace seqmend {

std::vector<EventWindow> event_windows(const SequenceSet& set, int max_len) {
  SEQ_CHECK(max_len >= 1, "event_windows: max_len must be >= 1, got ", max_len);
  std::vector<EventWindow> w;
  for (int64_t s = 0; s < set.num_sequences(); ++s) {
    const int64_t n = set.length(s);
    for (int64_t f = 0; f < n; f += max_len) w.push_back({s, f, std::min<int64_t>(max_len, n - f)});
  }
  return w;
}

SequenceView window_view(const SequenceSet& set, const EventWindow& w, int64_t sample_id) {
  const size_t e = size_t(set.offsets[size_t(w.seq)] + w.first), n = size_t(w.len);
  SequenceView v;
  v.items = std::span<const int32_t>(set.item).subspan(e, n);
  if (set.has_timestamps()) v.timestamps = std::span<const int64_t>(set.timestamp).subspan(e, n);
  if (set.has_actions()) v.actions = std::span<const int8_t>(set.action).subspan(e, n);
  v.sample_id = sample_id;
  return v;
}

SurprisalResult event_surprisal(ItemTransformer& model, const SequenceSet& set, const SurprisalOptions& opt) {
  SEQ_CHECK(opt.passes >= 1, "surprisal: passes must be >= 1, got ", opt.passes);
  SEQ_CHECK(opt.batch_size >= 1, "surprisal: batch_size must be >= 1, got ", opt.batch_size);
  const ModelConfig& mc = model.config();
  mc.require_cloze("surprisal");
  const int64_t V = mc.num_items;
  const int32_t mask = int32_t(mc.mask_token());
  const ItemScorer scorer(model);

  SurprisalResult r;
  r.surprisal.assign(size_t(set.num_events()), 0.0f);
  const std::vector<EventWindow> windows = event_windows(set, mc.max_len);
  std::vector<float> logits;
  for (size_t w0 = 0; w0 < windows.size(); w0 += size_t(opt.batch_size)) {
    if (!owns_batch(opt.group, int64_t(w0 / size_t(opt.batch_size)))) continue;
    const size_t w1 = std::min(windows.size(), w0 + size_t(opt.batch_size));
    std::vector<SequenceView> views;
    for (size_t w = w0; w < w1; ++w) views.push_back(window_view(set, windows[w], int64_t(w)));
    const Batch plain = make_plain_batch(views, mc);
    ++r.batches;
    for (int pass = 0; pass < opt.passes; ++pass) {
      Batch b = plain;
      std::vector<int64_t> event_of_row;  // (R) event index in `set` of each masked row
      for (int64_t s = 0; s < b.B; ++s) {
        const EventWindow& win = windows[w0 + size_t(s)];
        const int64_t base = set.offsets[size_t(win.seq)] + win.first;
        for (int64_t j = pass; j < win.len; j += opt.passes) {
          const int64_t t = b.cu_seqlens[size_t(s)] + j;
          b.target_rows.push_back(t);
          b.target_items.push_back(b.item[size_t(t)]);
          b.item[size_t(t)] = mask;
          event_of_row.push_back(base + j);
        }
      }
      const int64_t R = b.M();
      if (R == 0) continue;  // every window shorter than this pass's offset
      const Tensor h = model.hidden_at(b, b.target_rows);  // (R, C)
      ++r.forward_passes;
      logits.resize(size_t(R) * size_t(V));
      scorer.logits(h.data<float>(), R, logits.data());
#pragma omp parallel for schedule(static)
      for (int64_t m = 0; m < R; ++m) {
        const float* z = logits.data() + m * V;
        float mx = z[0];
        for (int64_t v = 1; v < V; ++v) mx = std::max(mx, z[v]);
        double sum = 0.0;
        for (int64_t v = 0; v < V; ++v) sum += std::exp(double(z[v] - mx));
        const double lse = double(mx) + std::log(sum);
        r.surprisal[size_t(event_of_row[size_t(m)])] = float(lse - double(z[b.target_items[size_t(m)] - 1]));
      }
    }
  }
  if (opt.group) {
    merge_owned(*opt.group, r.surprisal);
    int64_t counts[2] = {r.forward_passes, r.batches};
    opt.group->sum(counts, 2);
    r.forward_passes = counts[0];
    r.batches = counts[1];
  }
  return r;
}

}  // namespace seqmend
