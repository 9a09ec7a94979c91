#include "experiments/repair/model_predictor.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "core/base/error.h"
#include "core/batch.h"
#include "core/item_scorer.h"
#include "core/model.h"
#include "experiments/detect/detector_checkpoint.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

// One query's input: a copy of the window (an insert adds an event), and the masked index in it.
struct QueryWindow {
  std::vector<int32_t> items;
  std::vector<int64_t> ts;
  std::vector<int8_t> actions;
  int64_t masked = 0;
};

QueryWindow window_for(const SequenceSet& set, const PredictQuery& q, int max_len) {
  const int64_t n = set.length(q.sequence);
  SEQ_CHECK(q.position >= 0 && q.position <= n && (q.insert || q.position < n), "model predictor: query position ",
            q.position, " outside sequence ", q.sequence, " of length ", n);
  const int64_t room = q.insert ? max_len - 1 : max_len;  // events of the set in the window
  const int64_t len = std::min<int64_t>(room, n);
  // Centre the window on the position so both sides give context, kept inside [0, n).
  int64_t start = std::clamp<int64_t>(q.position - len / 2, 0, n - len);
  const int64_t off = set.offsets[size_t(q.sequence)];
  QueryWindow w;
  for (int64_t j = start; j < start + len; ++j) {
    if (q.insert && j == q.position) w.masked = int64_t(w.items.size());
    if (q.insert && j == q.position) {
      // Placeholder event at the gap (its item becomes the mask token in the batch).
      w.items.push_back(set.item[size_t(off + j)]);
      if (set.has_timestamps()) w.ts.push_back(set.timestamp[size_t(off + j)]);
      if (set.has_actions()) w.actions.push_back(set.action[size_t(off + j)]);
    }
    if (!q.insert && j == q.position) w.masked = int64_t(w.items.size());
    w.items.push_back(set.item[size_t(off + j)]);
    if (set.has_timestamps()) w.ts.push_back(set.timestamp[size_t(off + j)]);
    if (set.has_actions()) w.actions.push_back(set.action[size_t(off + j)]);
  }
  if (q.insert && q.position == start + len) {  // a gap at the window's end
    w.masked = int64_t(w.items.size());
    w.items.push_back(w.items.empty() ? 1 : w.items.back());
    if (set.has_timestamps()) w.ts.push_back(w.ts.empty() ? 0 : w.ts.back());
    if (set.has_actions()) w.actions.push_back(w.actions.empty() ? 0 : w.actions.back());
  }
  return w;
}

}  // namespace

Predictor make_model_predictor(ItemTransformer& model, int64_t batch_size) {
  SEQ_CHECK(batch_size >= 1, "model predictor: batch_size must be >= 1, got ", batch_size);
  model.config().require_cloze("model predictor");
  return [&model, batch_size](const SequenceSet& set, const std::vector<PredictQuery>& queries) {
    const ModelConfig& mc = model.config();
    const int64_t V = mc.num_items;
    const int32_t mask = int32_t(mc.mask_token());
    const ItemScorer scorer(model);
    std::vector<Prediction> out(queries.size());
    std::vector<float> logits;
    for (size_t q0 = 0; q0 < queries.size(); q0 += size_t(batch_size)) {
      const size_t q1 = std::min(queries.size(), q0 + size_t(batch_size));
      std::vector<QueryWindow> wins;
      wins.reserve(q1 - q0);
      for (size_t q = q0; q < q1; ++q) wins.push_back(window_for(set, queries[q], mc.max_len));
      std::vector<SequenceView> views;
      for (size_t i = 0; i < wins.size(); ++i) {
        SequenceView v;
        v.items = wins[i].items;
        v.timestamps = wins[i].ts;
        v.actions = wins[i].actions;
        v.sample_id = int64_t(q0 + i);
        views.push_back(v);
      }
      Batch b = make_plain_batch(views, mc);
      for (int64_t s = 0; s < b.B; ++s) {
        // make_plain_batch keeps the newest max_len events: the masked index counts from the end.
        const int64_t kept = b.cu_seqlens[size_t(s) + 1] - b.cu_seqlens[size_t(s)];
        const int64_t idx = wins[size_t(s)].masked - (int64_t(wins[size_t(s)].items.size()) - kept);
        SEQ_CHECK(idx >= 0 && idx < kept, "model predictor: masked index ", idx, " outside the batch row");
        const int64_t t = b.cu_seqlens[size_t(s)] + idx;
        b.target_rows.push_back(t);
        b.target_items.push_back(b.item[size_t(t)]);
        b.item[size_t(t)] = mask;
      }
      const int64_t R = b.M();
      const Tensor h = model.hidden_at(b, b.target_rows);  // (R, C)
      logits.resize(size_t(R) * size_t(V));
      scorer.logits(h.data<float>(), R, logits.data());
#pragma omp parallel for schedule(static)
      for (int64_t m = 0; m < R; ++m) {
        const float* z = logits.data() + m * V;
        int64_t best = 0;
        for (int64_t v = 1; v < V; ++v)
          if (z[v] > z[best]) best = v;  // first maximum: ties go to the lower item id
        double sum = 0.0;
        for (int64_t v = 0; v < V; ++v) sum += std::exp(double(z[v] - z[best]));
        out[q0 + size_t(m)] = Prediction{int32_t(best + 1), float(1.0 / sum)};
      }
    }
    return out;
  };
}

Predictor load_model_predictor(const std::string& encoder_checkpoint) {
  const std::string file = resolve_encoder_checkpoint(encoder_checkpoint);
  const std::string cfg_yaml = (fs::path(file).parent_path() / "config.yaml").string();
  auto model = std::make_shared<ItemTransformer>(model_config_from_run_config(cfg_yaml));
  load_encoder_checkpoint(*model, file, true);
  Predictor inner = make_model_predictor(*model);
  // The predictor owns the model it borrows from.
  return [model, inner](const SequenceSet& set, const std::vector<PredictQuery>& q) { return inner(set, q); };
}

}  // namespace seqmend
