#include "experiments/cli/simulate_stage.h"

#include "core/base/error.h"
#include "core/base/rng.h"
#include "experiments/eval/corrupted_set.h"
#include "experiments/run/run_dir.h"
#include "io/simulator.h"

namespace seqmend {

namespace {

constexpr uint64_t kInjectSeedTag = 0x696e6a656374;

}  // namespace

nlohmann::json run_simulate(SimulateConfig& cfg, const std::string& out_dir) {
  CorruptedSetDirs dirs("simulate", out_dir, cfg.options());  // locked and checked before the work
  SEQ_CHECK(!cfg.hide_truth || cfg.inject.bot_rate == 0, "simulate: hide_truth with inject.bot_rate ", cfg.inject.bot_rate,
            " > 0: bot users would stand out by their ids and their place after every real user. HINT: inject.bot_rate=0");

  Simulator sim(cfg.simulator);
  const int threads = int(cfg.threads);
  SequenceSet clean = sim.generate(threads);
  const uint64_t inject_seed = cfg.inject_seed != 0 ? cfg.inject_seed : hash_combine(cfg.simulator.seed, kInjectSeedTag);
  InjectionContext ctx{sim.num_items(), sim.item_cluster(), {}};
  InjectionResult r = Injector(clean, cfg.inject, ctx).run(inject_seed, threads);

  nlohmann::json summary = injection_summary(clean, r, inject_seed, cfg.write_clean);
  summary["items"] = sim.num_items();
  summary["clusters"] = sim.num_clusters();
  summary["simulator_seed"] = cfg.simulator.seed;

  ManifestInfo info;
  info.num_items = sim.num_items();
  info.source = str("seqmend simulate: ", clean.num_sequences(), " simulated users (seed ", cfg.simulator.seed,
                    ") with injected anomalies and ", summary["bots"].get<int64_t>(), " bot users (seed ",
                    inject_seed, ")");
  info.extra["simulate"] = summary;

  ManifestInfo clean_info;
  clean_info.num_items = sim.num_items();
  clean_info.source = str("seqmend simulate: ", clean.num_sequences(), " simulated users (seed ", cfg.simulator.seed,
                          "), before anomaly injection");
  clean_info.extra["simulate"] = {{"users", clean.num_sequences()}, {"events", clean.num_events()},
                                  {"simulator_seed", cfg.simulator.seed}, {"corrupted_dir", ".."}};
  write_corrupted_set(dirs, clean, r, std::move(info), std::move(clean_info), cfg.options(), "simulate");

  // The config holds the injection seed, from which the truth could be rebuilt: it stays with the truth.
  RunDir run(dirs.truth_path());
  run.write_config(cfg);
  run.write_run_info({{"stage", "simulate"}, {"summary", summary}});
  dirs.commit();
  return summary;
}

}  // namespace seqmend
