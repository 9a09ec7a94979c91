// The `seqmend` command line: one file per subcommand (cmd_<name>.cpp), each registering itself on
// the CLI11 app through an add_<name>_command function listed in main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace seqmend {

class MpiEnv;

// A subcommand's body runs after parsing, with the MPI environment; it throws seqmend::Error on
// failure (main turns that into a message and a non-zero exit of the whole job).
using CommandBody = std::function<int(MpiEnv&)>;

void add_info_command(CLI::App& app, CommandBody& body);
void add_simulate_command(CLI::App& app, CommandBody& body);
void add_ingest_command(CLI::App& app, CommandBody& body);
void add_corrupt_command(CLI::App& app, CommandBody& body);
void add_pretrain_command(CLI::App& app, CommandBody& body);
void add_finetune_command(CLI::App& app, CommandBody& body);
void add_detect_command(CLI::App& app, CommandBody& body);
void add_unrepair_command(CLI::App& app, CommandBody& body);
void add_repair_command(CLI::App& app, CommandBody& body);
void add_evaluate_command(CLI::App& app, CommandBody& body);
void add_run_command(CLI::App& app, CommandBody& body);
void add_sweep_command(CLI::App& app, CommandBody& body);

}  // namespace seqmend
