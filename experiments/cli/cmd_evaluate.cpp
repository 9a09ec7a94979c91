#include <cmath>
#include <cstdio>
#include <memory>

#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/run/dp_group.h"
#include "experiments/cli/evaluate_stage.h"
#include "experiments/cli/stage_args.h"

namespace seqmend {

void add_evaluate_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "evaluate",
      "Train the recommender with one pretrain config on the raw, the repaired and (if given) the clean data, "
      "test all on the same targets; writes evaluate.json with HR@K/NDCG@K and the recovered share");
  auto args = add_stage_args<EvaluateConfig>(*cmd);
  auto resume = std::make_shared<bool>(false);
  cmd->add_flag("--resume", *resume,
                "keep run_dir's finished trainings and continue a stopped one from its checkpoint (the same config)");
  cmd->callback([&body, args, resume] {
    body = [args, resume](MpiEnv& env) {
      auto cfg = args->load<EvaluateConfig>();
      if (args->print_config) return print_config(cfg, env);
      auto group = DataParallelGroup::world();
      nlohmann::json r = run_evaluate(cfg, *group, *resume);
      if (r.value("stopped", false)) {
        if (env.rank() == 0)
          std::printf("evaluate: stopped by a signal in %s; the same command with --resume goes on\n",
                      r.value("in", "").c_str());
        return DataParallelGroup::exit_code_stopped();
      }
      if (env.rank() == 0) {
        for (const auto& [name, s] : r["sets"].items())
          std::printf("evaluate: %-8s hr@10 %s ndcg@10 %s\n", name.c_str(),
                      s["test"].value("hr@10", nlohmann::json()).dump().c_str(),
                      s["test"].value("ndcg@10", nlohmann::json()).dump().c_str());
        std::printf("evaluate: recovered share %s\n", r["recovered_share"].dump().c_str());
      }
      return 0;
    };
  });
}

}  // namespace seqmend
