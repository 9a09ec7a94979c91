#include <cstdio>

#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/cli/simulate_stage.h"
#include "experiments/cli/stage_args.h"

namespace seqmend {

void add_simulate_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "simulate",
      "Simulate user sequences, inject labelled anomalies and write them as a shard set (DIR) with the clean "
      "version in DIR/clean and repair ground truth in DIR/repair_truth.tsv");
  auto args = add_stage_args<SimulateConfig>(*cmd);
  auto out = std::make_shared<std::string>();
  cmd->add_option("--out,-o", *out, "Output directory (created; must be empty unless overwrite=true)");
  cmd->callback([&body, args, out] {
    body = [args, out](MpiEnv& env) {
      auto cfg = args->load<SimulateConfig>();
      if (args->print_config) return print_config(cfg, env);
      SEQ_CHECK(!out->empty(), "simulate: --out DIR is required. HINT: seqmend simulate --config FILE --out DIR");
      // Simulation is cheap and single-process: rank 0 writes, other ranks have nothing to do.
      if (env.rank() != 0) return 0;
      nlohmann::json s = run_simulate(cfg, *out);
      std::printf("simulate: wrote %s: %lld users + %lld bots, %lld items, %lld events (%lld clean), %lld dropped\n",
                  out->c_str(), (long long)s["users"].get<int64_t>(), (long long)s["bots"].get<int64_t>(),
                  (long long)s["items"].get<int64_t>(), (long long)s["events"].get<int64_t>(),
                  (long long)s["clean_events"].get<int64_t>(), (long long)s["dropped_events"].get<int64_t>());
      std::printf("simulate: events per label %s\n", s["label_events"].dump().c_str());
      std::printf("simulate: sequences per label %s\n", s["label_sequences"].dump().c_str());
      return 0;
    };
  });
}

}  // namespace seqmend
