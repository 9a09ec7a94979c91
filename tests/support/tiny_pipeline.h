// The smallest pipeline file that exercises every stage of `seqmend run`, for the pipeline tests.
#pragma once

#include <stdexcept>
#include <string>

namespace seqmend::test_support {

// The smallest pipeline that exercises every stage: 80 simulated users, a 2-layer d=16 model,
// a few steps each. `repair_extra` lets a test change the repair section only. Repair has no
// precision floor (the default is 0.8): a detector fine-tuned for 4 steps is far from precise, and
// the tests want its edits made.
inline std::string tiny_pipeline(const std::string& run_dir, const std::string& repair_extra = "") {
  return "run_dir: " + run_dir +
         "\n"
         "data: simulate\n"
         "simulate:\n"
         "  simulator: {seed: 5, num_users: 80, num_items: 60, num_clusters: 4, length_min: 8, length_max: 20,"
         " length_median: 12}\n"
         "  inject: {noise_rate: 0.05, drop_rate: 0.03, bot_rate: 0.05, protect_last: 2}\n"
         "  fsync: false\n"
         "pretrain:\n"
         "  model: {max_len: 16, d_model: 16, num_layers: 1, num_heads: 2}\n"
         "  global_batch_size: 16\n"
         "  max_steps: 8\n"
         "  eval_every: 4\n"
         "  log_every: 2\n"
         "  threads: 1\n"
         "finetune: {global_batch_size: 16, max_steps: 4, log_every: 2, threads: 1}\n"
         "detect: {surprisal_passes: 2, threads: 1}\n"
         "repair:\n"
         "  repair: {protect_last: 2, min_expected_precision: 0" +
         repair_extra +
         "}\n"
         "evaluate: {}\n";
}

// `text` with its first `from` replaced by `to` (a tiny_pipeline setting changed); `from` must be there.
inline std::string with_setting(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at == std::string::npos) throw std::invalid_argument("'" + from + "' is not in the pipeline text");
  return text.replace(at, from.size(), to);
}

}  // namespace seqmend::test_support
