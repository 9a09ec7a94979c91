#include "experiments/simulate_stage.h"

#include <filesystem>
#include <sstream>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/run_dir.h"
#include "io/atomic_file.h"
#include "io/shard_set.h"
#include "io/simulator.h"
#include "io/splits.h"

namespace seqmend {

namespace {

constexpr uint64_t kInjectSeedTag = 0x696e6a656374;

nlohmann::json label_table(const std::array<int64_t, 8>& counts) {
  nlohmann::json j = nlohmann::json::object();
  for (size_t c = 0; c < counts.size(); ++c) j[anomaly_label_name(int(c))] = counts[c];
  return j;
}

// Ground truth for repair: what was deleted before each gap event and what each substitution replaced,
// with positions in the user's full corrupted sequence (= the test split's sequence).
std::string repair_truth_tsv(const SequenceSet& clean, const InjectionResult& r) {
  std::ostringstream os;
  os << "kind\tuser\tposition\titem\n";
  const SequenceSet& d = r.data;
  for (int64_t s = 0; s < d.num_sequences(); ++s) {
    const int64_t b = d.offsets[size_t(s)];
    int64_t next_drop = r.dropped_offsets[size_t(s)];
    for (int64_t i = b; i < d.offsets[size_t(s) + 1]; ++i) {
      for (; next_drop < r.dropped_offsets[size_t(s) + 1] && r.dropped_before[size_t(next_drop)] == i; ++next_drop)
        os << "dropped\t" << d.user[size_t(s)] << '\t' << i - b << '\t' << r.dropped_item[size_t(next_drop)] << '\n';
      if (d.label[size_t(i)] == kLabelSubstitution)
        os << "substituted\t" << d.user[size_t(s)] << '\t' << i - b << '\t'
           << clean.item[size_t(r.source_event[size_t(i)])] << '\n';
    }
  }
  return os.str();
}

// The same leave-one-out splits ingest writes (io/splits.h), so stages downstream see no difference.
SplitSets leave_one_out(const SequenceSet& all) {
  IngestSplitOptions opts;
  opts.method = "leave_one_out";
  return make_splits(all, opts);
}

void write_splits(const std::string& dir, ManifestInfo info, SplitSets& splits, const SimulateConfig& cfg) {
  info.extra["split"] = splits.info;
  ShardOptions opts;
  opts.max_events_per_shard = cfg.max_events_per_shard;
  opts.overwrite = true;  // emptiness was checked (or overwriting allowed) before anything was written
  opts.fsync = cfg.fsync;
  write_shard_set(dir, info, {{"train", splits.train}, {"valid", splits.valid}, {"test", splits.test}}, opts);
}

}  // namespace

nlohmann::json run_simulate(SimulateConfig& cfg, const std::string& out_dir) {
  namespace fs = std::filesystem;
  SEQ_CHECK(!out_dir.empty(), "simulate: no output directory (--out DIR)");
  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    SEQ_CHECK(fs::is_directory(out_dir, ec), "simulate: --out '", out_dir, "' exists and is not a directory");
    SEQ_CHECK(cfg.overwrite || fs::is_empty(out_dir, ec), "simulate: output directory '", out_dir,
              "' is not empty. HINT: choose a new directory or pass overwrite=true");
  }

  Simulator sim(cfg.simulator);
  const int threads = int(cfg.threads);
  SequenceSet clean = sim.generate(threads);
  const uint64_t inject_seed = cfg.inject_seed != 0 ? cfg.inject_seed : hash_combine(cfg.simulator.seed, kInjectSeedTag);
  InjectionContext ctx{sim.num_items(), sim.item_cluster()};
  InjectionResult r = Injector(clean, cfg.inject, ctx).run(inject_seed, threads);

  nlohmann::json summary = {
      {"users", clean.num_sequences()},
      {"bots", r.data.num_sequences() - clean.num_sequences()},
      {"items", sim.num_items()},
      {"clusters", sim.num_clusters()},
      {"clean_events", clean.num_events()},
      {"events", r.data.num_events()},
      {"dropped_events", int64_t(r.dropped_item.size())},
      {"label_events", label_table(r.label_events)},
      {"label_sequences", label_table(r.label_sequences)},
      {"push_targets", r.push_targets},
      {"simulator_seed", cfg.simulator.seed},
      {"inject_seed", inject_seed},
      {"clean_dir", cfg.write_clean ? "clean" : ""},
      {"repair_truth", "repair_truth.tsv"},
  };

  ManifestInfo info;
  info.num_items = sim.num_items();
  info.source = str("seqmend simulate: ", clean.num_sequences(), " simulated users (seed ", cfg.simulator.seed,
                    ") with injected anomalies and ", summary["bots"].get<int64_t>(), " bot users (seed ",
                    inject_seed, ")");
  info.extra["simulate"] = summary;
  SplitSets corrupted = leave_one_out(r.data);
  write_splits(out_dir, info, corrupted, cfg);

  if (cfg.write_clean) {
    ManifestInfo clean_info;
    clean_info.num_items = sim.num_items();
    clean_info.source = str("seqmend simulate: ", clean.num_sequences(), " simulated users (seed ",
                            cfg.simulator.seed, "), before anomaly injection");
    clean_info.extra["simulate"] = {{"users", clean.num_sequences()}, {"events", clean.num_events()},
                                    {"simulator_seed", cfg.simulator.seed}, {"corrupted_dir", ".."}};
    SplitSets clean_splits = leave_one_out(clean);
    write_splits(out_dir + "/clean", clean_info, clean_splits, cfg);
  }
  write_file_atomic(out_dir + "/repair_truth.tsv", repair_truth_tsv(clean, r));

  RunDir run(out_dir);
  run.write_config(cfg);
  run.write_run_info({{"stage", "simulate"}, {"summary", summary}});
  return summary;
}

}  // namespace seqmend
