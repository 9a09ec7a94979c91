#include <cstdio>

#include "core/base/error.h"
#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/run/dp_group.h"
#include "experiments/cli/repair_stage.h"
#include "experiments/cli/stage_args.h"

namespace seqmend {

void add_repair_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "repair",
      "Repair a shard set from the detector's scores.h5 files (thresholds stored in them): delete, replace, "
      "backfill, quarantine; writes the repaired set, quarantine/, edits.csv and repair.json to out_dir");
  auto args = add_stage_args<RepairStageConfig>(*cmd);
  cmd->callback([&body, args] {
    body = [args](MpiEnv& env) {
      auto cfg = args->load<RepairStageConfig>();
      if (args->print_config) return print_config(cfg, env);
      auto group = DataParallelGroup::world();
      nlohmann::json r = run_repair(cfg, group.get());
      if (env.rank() != 0) return 0;
      std::printf("repair: %s → %s (predictor %s)\n", cfg.data_dir.c_str(), cfg.out_dir.c_str(),
                  r.value("predictor", "").c_str());
      const nlohmann::json stats = r.value("stats", nlohmann::json::object());  // items() must not outlive it
      for (const auto& [split, s] : stats.items())
        std::printf("  %-6s %s\n", split.c_str(), s.value("counts", nlohmann::json::object()).dump().c_str());
      return 0;
    };
  });
}

}  // namespace seqmend
