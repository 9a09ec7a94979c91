#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/cli/detect_stage.h"
#include "experiments/run/dp_group.h"
#include "experiments/cli/stage_args.h"
#include "kernels/threads.h"

namespace seqmend {

void add_detect_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "detect",
      "Score every event and sequence of a shard set split with a fine-tuned detector and the "
      "pretrained model's surprisal; writes scores.h5, event_scores.csv, sequence_scores.csv and, "
      "when the split has labels, detection.json to run_dir");
  auto args = add_stage_args<DetectConfig>(*cmd);
  cmd->callback([&body, args] {
    body = [args](MpiEnv& env) {
      auto cfg = args->load<DetectConfig>();
      if (args->print_config) return print_config(cfg, env);
      cfg.validate();
      apply_threads_setting(cfg.threads);
      auto group = DataParallelGroup::world();
      run_detect(cfg, *group);
      return 0;
    };
  });
}

}  // namespace seqmend
