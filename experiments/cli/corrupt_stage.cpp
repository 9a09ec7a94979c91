#include "experiments/cli/corrupt_stage.h"

#include <filesystem>

#include "core/base/error.h"
#include "experiments/eval/corrupted_set.h"
#include "experiments/run/run_dir.h"
#include "io/shard_set.h"

namespace fs = std::filesystem;

namespace seqmend {

namespace {

// The full sequences of the input as a clean set: its test split, which under leave-one-out holds
// each user's whole sequence (valid and train are prefixes of it, so nothing else is needed).
SequenceSet full_clean_sequences(const ShardSet& in) {
  const std::string& dir = in.dir();
  const nlohmann::json split = in.extra().value("split", nlohmann::json::object());
  const std::string method = split.is_object() ? split.value("method", "") : "";
  SEQ_CHECK(method == "leave_one_out", "corrupt: input '", dir, "' has split method '", method,
            "' in manifest extra.split; only leave_one_out keeps each user's full sequence in the test split. "
            "HINT: ingest with split.method=leave_one_out");
  SEQ_CHECK(in.has_split("test"), "corrupt: input '", dir, "' has no test split");
  SequenceSet s = load_split(in, "test");
  SEQ_CHECK(s.num_sequences() > 0, "corrupt: input '", dir, "' has no sequences in its test split");
  int64_t labelled = 0;
  labelled += count_anomaly_labels(s);
  SEQ_CHECK(labelled == 0, "corrupt: input '", dir, "' already has ", labelled,
            " anomaly labels; corrupt a clean set (e.g. an ingested one, or a simulated DIR/clean)");
  // An all-clean label column, as the simulator's clean set has: DIR/clean then reads like simulate's.
  s.label.assign(size_t(s.num_events()), kLabelClean);
  s.seq_label.assign(size_t(s.num_sequences()), kLabelClean);
  return s;
}

std::vector<int64_t> count_items(const SequenceSet& s, int64_t num_items) {
  std::vector<int64_t> counts(size_t(num_items), 0);
  for (int32_t it : s.item) ++counts[size_t(it - 1)];
  return counts;
}

}  // namespace

nlohmann::json run_corrupt(CorruptConfig& cfg, const std::string& input_dir, const std::string& out_dir) {
  SEQ_CHECK(!input_dir.empty(), "corrupt: no input shard set (--input DIR)");
  CorruptedSetDirs dirs("corrupt", out_dir, cfg.options());  // locked and checked before the work
  SEQ_CHECK(!cfg.hide_truth || cfg.inject.bot_rate == 0, "corrupt: hide_truth with inject.bot_rate ", cfg.inject.bot_rate,
            " > 0: bot users would stand out by their ids and their place after every real user. HINT: inject.bot_rate=0");
  std::error_code ec;
  SEQ_CHECK(!fs::exists(out_dir, ec) || !fs::equivalent(input_dir, out_dir, ec),
            "corrupt: --out '", out_dir, "' is the input directory; write the corrupted set elsewhere");

  ShardSet in = ShardSet::open(input_dir);
  SequenceSet clean = full_clean_sequences(in);
  const int64_t num_items = in.num_items();
  const int threads = int(cfg.threads);
  InjectionContext ctx;
  ctx.num_items = num_items;
  ctx.item_counts = in.item_counts();  // popularity of the whole input (no item clusters on real data)
  InjectionResult r = Injector(clean, cfg.inject, ctx).run(cfg.seed, threads);

  // Bots get user ids after the input's user table (the injectors number them after the largest id
  // in the sequences, which may belong to a user the split left out), and a table entry each.
  std::vector<std::string> user_ids = in.user_ids();
  if (!user_ids.empty()) {
    int64_t bot = 0;
    for (int64_t s = 0; s < r.data.num_sequences(); ++s) {
      if (r.source_sequence[size_t(s)] >= 0) continue;
      r.data.user[size_t(s)] = int64_t(user_ids.size());
      user_ids.push_back("bot-" + std::to_string(++bot));
    }
  }

  nlohmann::json summary = injection_summary(clean, r, cfg.seed, cfg.write_clean);
  summary["items"] = num_items;
  summary["input"] = input_dir;
  summary["input_source"] = in.source();

  // The input's own record (dataset, ingest report) stays with both sets; the split is rewritten.
  nlohmann::json carried = in.extra();
  carried.erase("split");

  ManifestInfo info;
  info.num_items = num_items;
  info.item_ids = in.item_ids();
  info.item_counts = count_items(r.data, num_items);
  info.user_ids = std::move(user_ids);
  info.source = str("seqmend corrupt: ", in.source(), " (", clean.num_sequences(), " users) with injected anomalies and ",
                    summary["bots"].get<int64_t>(), " bot users (seed ", cfg.seed, ")");
  info.extra = carried;
  info.extra["corrupt"] = summary;

  ManifestInfo clean_info;
  clean_info.num_items = num_items;
  clean_info.item_ids = in.item_ids();
  clean_info.item_counts = in.item_counts();
  clean_info.user_ids = in.user_ids();
  clean_info.source = str("seqmend corrupt: ", in.source(), ", before anomaly injection");
  clean_info.extra = carried;
  clean_info.extra["corrupt"] = {{"users", clean.num_sequences()}, {"events", clean.num_events()},
                                 {"input", input_dir}, {"corrupted_dir", ".."}};

  write_corrupted_set(dirs, clean, r, std::move(info), std::move(clean_info), cfg.options(), "corrupt");

  // The config holds the injection seed, from which the truth could be rebuilt: it stays with the truth.
  RunDir run(dirs.truth_path());
  run.write_config(cfg);
  run.write_run_info({{"stage", "corrupt"}, {"input", input_dir}, {"summary", summary}});
  dirs.commit();
  return summary;
}

}  // namespace seqmend
