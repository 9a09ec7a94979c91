// The command-line convention every stage follows:
//
//   seqmend <stage> [--config FILE] [--print-config] [key.sub=value ...]
//
// The file is read first, then the overrides in order; both are checked against the stage's config
// struct (io/config.h). --help lists every config key with its type, range, default and doc.
// In a stage's cmd_<name>.cpp:
//
//   void add_pretrain_command(CLI::App& app, CommandBody& body) {
//     auto* cmd = app.add_subcommand("pretrain", "Pretrain the encoder by masked-item modelling");
//     auto args = add_stage_args<PretrainConfig>(*cmd);
//     cmd->callback([&body, args] {
//       body = [args](MpiEnv& env) {
//         auto cfg = args->load<PretrainConfig>();
//         if (args->print_config) return print_config(cfg, env);
//         RunDir run(cfg.run_dir, env);
//         run.write_config(cfg);
//         run.write_run_info({{"stage", "pretrain"}});
//         ...
//         run.append_metrics({{"step", step}, {"loss", loss}});
//         return 0;
//       };
//     });
//   }
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "distributed/mpi_env.h"
#include "io/config.h"

namespace seqmend {

struct StageArgs {
  std::string config_path;             // --config FILE; empty: the struct's defaults
  std::vector<std::string> overrides;  // trailing key.sub=value, applied after the file in order
  bool print_config = false;           // --print-config: print the resolved config, run nothing
  bool resume = false, overwrite = false;  // --resume, --overwrite (add_run_dir_flags)

  template <typename S>
  S load() const {
    return load_config<S>(config_path, overrides);
  }
  // load() with --resume and --overwrite applied: the stages that train into a run_dir.
  template <typename S>
  S load_run() const {
    S cfg = load<S>();
    cfg.resume = cfg.resume || resume;
    cfg.overwrite = cfg.overwrite || overwrite;
    return cfg;
  }
};

// Adds --config, --print-config and the trailing overrides to `cmd` (malformed overrides, those
// without '=', are a parse error with usage). The returned object is filled in by parsing: keep it
// alive by capturing it in the stage's body.
std::shared_ptr<StageArgs> add_stage_args(CLI::App& cmd);

// Same, with every key of S (type, range, default, doc) listed at the end of the stage's --help.
template <typename S>
std::shared_ptr<StageArgs> add_stage_args(CLI::App& cmd) {
  auto args = add_stage_args(cmd);
  S defaults{};
  cmd.footer("Config keys (in the --config file, or as key=value after the options):\n" +
             config_reference(defaults));
  return args;
}

// --resume and --overwrite, the same as resume=true and overwrite=true, for a stage that trains
// into a run_dir (read with StageArgs::load_run).
void add_run_dir_flags(CLI::App& cmd, StageArgs& args);

// The resolved config as YAML on stdout (rank 0); returns 0, the stage's exit code.
template <typename S>
int print_config(S& cfg, const MpiEnv& env) {
  if (env.rank() == 0) std::fputs(config_to_yaml(cfg).c_str(), stdout);
  return 0;
}

}  // namespace seqmend
