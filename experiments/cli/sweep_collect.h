// `seqmend sweep collect DIR` (also the end of a local sweep): one results table from the points'
// run directories, and the scaling plots.
//
//   results.csv             one row per point: point, config, state, one column per varied key,
//                           seed, params, train_flops, tokens_per_s, wall_s, train_s, steps,
//                           best_step, valid_<metric> and test_<metric> for every metric the runs
//                           report (hr@K, ndcg@K, mrr); pipeline sweeps add detect_roc_auc,
//                           detect_pr_auc (test split, event head), recovered_hr@10 and
//                           recovered_ndcg@10 (the evaluate stage's recovered share)
//   results_by_config.csv   per config (the point without its seed) over its finished seeds:
//                           seeds, then <column>_mean and <column>_std (sample deviation) of each
//                           number above
//   results.md              both, the mean table first (mean ± std), and the plots
//   plots/*.png             tools/plot_sweep.py (matplotlib, /usr/bin/python3): valid and test
//                           metric against parameters and against training FLOPs (log x), one line
//                           per varied key; the loss curves of every point. Without matplotlib
//                           results.md says so.
//
// params: parameter_count of the point's resolved config; train_flops: train_flops over the tokens
// the run trained on (experiments/cli/model_cost.h); wall_s: the point's processes' wall time, summed
// over restarts; train_s: inside training steps. Numbers are written in their shortest round-trip
// form, so two runs with the same results give the same bytes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace seqmend {

// Reads DIR/sweep.json and the points' directories; writes the files above; refreshes the point
// statuses in sweep.json. Returns {columns, rows (objects by column), configs, plots, plots_note}.
nlohmann::json collect_sweep(const std::string& dir, bool plots = true);

// The rows as CSV (header, then one line per row; cells with , " or newlines quoted).
std::string sweep_csv(const nlohmann::json& columns, const nlohmann::json& rows);

}  // namespace seqmend
