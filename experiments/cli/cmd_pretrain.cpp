#include <cstdio>
#include <memory>

#include "core/base/error.h"
#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/run/dp_group.h"
#include "experiments/train/train_checkpoint.h"
#include "experiments/train/pretrain_config.h"
#include "experiments/run/run_dir.h"
#include "experiments/cli/stage_args.h"
#include "experiments/train/trainer.h"
#include "kernels/threads.h"

namespace seqmend {

void add_pretrain_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "pretrain",
      "Pretrain the BERT4Rec encoder by masked-item modelling, data-parallel over MPI ranks; writes "
      "config.yaml, run.json, metrics.jsonl and results.json (valid/test HR@K, NDCG@K) to run_dir");
  auto args = add_stage_args<PretrainConfig>(*cmd);
  add_run_dir_flags(*cmd, *args);
  cmd->callback([&body, args] {
    body = [args](MpiEnv& env) {
      auto cfg = args->load_run<PretrainConfig>();
      if (args->print_config) return print_config(cfg, env);
      cfg.validate();
      apply_threads_setting(cfg.threads);
      auto group = DataParallelGroup::world();
      if (!cfg.resume) claim_run_dir(cfg.run_dir, cfg.overwrite, env.rank());
      RunDir run(cfg.run_dir, env);
      Trainer trainer(cfg, *group, &run);
      PretrainConfig resolved = trainer.config();  // num_items and total_steps filled in
      run.write_config(resolved);
      run.write_run_info({{"stage", "pretrain"}, {"threads", num_threads()}, {"device", cfg.device}});
      TrainCheckpoints ckpts(trainer, run, *group, cfg.checkpoint);
      if (cfg.resume) ckpts.resume();
      ckpts.install();
      nlohmann::json results = trainer.run();
      // Stopped by a signal, the requeued job resumes from here; finished, `seqmend finetune`
      // starts from here (the checkpoint holds the best parameters too).
      ckpts.save_now();
      return results.value("stopped", false) ? DataParallelGroup::exit_code_stopped() : 0;
    };
  });
}

}  // namespace seqmend
