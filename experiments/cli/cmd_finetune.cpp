#include <memory>

#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/run/dp_group.h"
#include "experiments/detect/finetune_config.h"
#include "experiments/cli/finetune_stage.h"
#include "experiments/run/run_dir.h"
#include "experiments/cli/stage_args.h"
#include "experiments/train/train_checkpoint.h"
#include "kernels/threads.h"

namespace seqmend {

void add_finetune_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "finetune",
      "Fine-tune the anomaly detector (event, gap and bot heads) on a pretrained encoder with labels "
      "injected on the fly; calibrates thresholds on the valid split and writes detector.h5, "
      "config.yaml, run.json, metrics.jsonl and results.json to run_dir");
  auto args = add_stage_args<FinetuneConfig>(*cmd);
  add_run_dir_flags(*cmd, *args);
  cmd->callback([&body, args] {
    body = [args](MpiEnv& env) {
      auto cfg = args->load_run<FinetuneConfig>();
      if (args->print_config) return print_config(cfg, env);
      cfg.validate();
      apply_threads_setting(cfg.threads);
      auto group = DataParallelGroup::world();
      if (!cfg.resume) claim_run_dir(cfg.run_dir, cfg.overwrite, env.rank(), "finetune");
      RunDir run(cfg.run_dir, env);
      const nlohmann::json results = run_finetune(cfg, *group, &run);
      return results.value("stopped", false) ? DataParallelGroup::exit_code_stopped() : 0;
    };
  });
}

}  // namespace seqmend
