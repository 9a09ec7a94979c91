#include "experiments/cli/stage_args.h"

namespace seqmend {

std::shared_ptr<StageArgs> add_stage_args(CLI::App& cmd) {
  auto args = std::make_shared<StageArgs>();
  cmd.add_option("--config,-c", args->config_path, "YAML config file (absent keys keep their defaults)")
      ->check(CLI::ExistingFile);
  cmd.add_flag("--print-config", args->print_config, "Print the resolved config as YAML and exit");
  cmd.add_option("overrides", args->overrides, "Config overrides key.sub=value, applied after --config")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            size_t eq = s.find('=');
            return eq == std::string::npos || eq == 0 ? "expected key=value (e.g. optim.lr=0.001), got `" + s + "`"
                                                      : std::string();
          },
          "KEY=VALUE", "key=value"));
  return args;
}

void add_run_dir_flags(CLI::App& cmd, StageArgs& args) {
  cmd.add_flag("--resume", args.resume, "continue from the newest checkpoint in run_dir (same as resume=true)");
  cmd.add_flag("--overwrite", args.overwrite,
               "start afresh in a run_dir that holds another run, removing its files (same as overwrite=true)");
}

}  // namespace seqmend
