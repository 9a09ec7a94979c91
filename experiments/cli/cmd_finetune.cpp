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
  auto resume = std::make_shared<bool>(false);
  cmd->add_flag("--resume", *resume, "continue from the newest checkpoint in run_dir (same as resume=true)");
  auto overwrite = std::make_shared<bool>(false);
  cmd->add_flag("--overwrite", *overwrite,
                "start afresh in a run_dir that holds another run, removing its files (same as overwrite=true)");
  cmd->callback([&body, args, resume, overwrite] {
    body = [args, resume, overwrite](MpiEnv& env) {
      auto cfg = args->load<FinetuneConfig>();
      if (*resume) cfg.resume = true;
      if (*overwrite) cfg.overwrite = true;
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
