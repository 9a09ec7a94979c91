#include "experiments/detect/detector_scores.h"

#include <algorithm>
#include <vector>

#include "core/base/error.h"
#include "experiments/run/owned_values.h"
#include "experiments/detect/surprisal.h"

namespace seqmend {

DetectorScores detector_scores(Detector& det, const SequenceSet& set, int64_t batch_size, DataParallelGroup* group) {
  SEQ_CHECK(batch_size >= 1, "detector_scores: batch_size must be >= 1, got ", batch_size);
  const ModelConfig& mc = det.encoder().config();
  DetectorScores out;
  out.event.assign(size_t(set.num_events()), 0.0f);
  out.gap.assign(size_t(set.num_events()), 0.0f);
  out.sequence.assign(size_t(set.num_sequences()), 0.0f);
  const std::vector<EventWindow> windows = event_windows(set, mc.max_len);
  std::vector<float> window_score(windows.size(), 0.0f);
  std::vector<float> ev, gp, sq;
  for (size_t w0 = 0; w0 < windows.size(); w0 += size_t(batch_size)) {
    if (!owns_batch(group, int64_t(w0 / size_t(batch_size)))) continue;
    const size_t w1 = std::min(windows.size(), w0 + size_t(batch_size));
    std::vector<SequenceView> views;
    for (size_t w = w0; w < w1; ++w) views.push_back(window_view(set, windows[w], int64_t(w)));
    const Batch b = make_plain_batch(views, mc);
    ev.resize(size_t(b.N));
    gp.resize(size_t(b.N));
    sq.resize(size_t(b.B));
    det.score(b, ev.data(), gp.data(), sq.data());
    for (int64_t s = 0; s < b.B; ++s) {
      const EventWindow& win = windows[w0 + size_t(s)];
      const int64_t base = set.offsets[size_t(win.seq)] + win.first, t0 = b.cu_seqlens[size_t(s)];
      for (int64_t j = 0; j < win.len; ++j) {
        out.event[size_t(base + j)] = ev[size_t(t0 + j)];
        out.gap[size_t(base + j)] = gp[size_t(t0 + j)];
      }
      window_score[w0 + size_t(s)] = sq[size_t(s)];
    }
  }
  if (group) {
    merge_owned(*group, out.event);
    merge_owned(*group, out.gap);
    merge_owned(*group, window_score);
  }
  // A sequence's score: its windows' scores weighted by their lengths, folded in window order.
  std::vector<double> seq_sum(size_t(set.num_sequences()), 0.0);
  for (size_t w = 0; w < windows.size(); ++w)
    seq_sum[size_t(windows[w].seq)] += double(window_score[w]) * double(windows[w].len);
  for (int64_t q = 0; q < set.num_sequences(); ++q) {
    const int64_t n = set.length(q);
    out.sequence[size_t(q)] = n > 0 ? float(seq_sum[size_t(q)] / double(n)) : 0.0f;
  }
  return out;
}

}  // namespace seqmend
