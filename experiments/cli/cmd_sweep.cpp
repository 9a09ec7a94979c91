#include <cstdio>
#include <memory>
#include <string>

#include "core/base/error.h"
#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/cli/repair_stage.h"
#include "experiments/cli/sweep_collect.h"
#include "experiments/cli/sweep_run.h"

namespace seqmend {

void add_sweep_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "sweep",
      "Train a grid of configs (model sizes, seeds, ...) from one sweep file: one run directory per point, "
      "N points at a time here or as a Slurm job array, finished points skipped on a re-run, one results table "
      "with scaling plots (see experiments/configs/sweep_ml100k.yaml and ARCHITECTURE.md, Sweeps)");
  auto file = std::make_shared<std::string>();
  auto opts = std::make_shared<SweepOptions>();
  cmd->add_option("FILE", *file, "sweep YAML: base, grid, zip, points, seeds");
  cmd->add_option("--out", opts->out, "sweep directory (default runs/<FILE's name>)");
  cmd->add_option("-j,--jobs", opts->jobs, "points run at once on this machine (default 1)");
  cmd->add_option("--ranks", opts->ranks, "MPI ranks per point (local: under mpirun; default 1)");
  cmd->add_option("--threads", opts->threads,
                  "threads divided among the running points' ranks (default: the machine's cores)");
  cmd->add_flag("--dry-run", opts->dry_run, "check every point, print costs and what would run; write nothing");
  cmd->add_flag("--insist", opts->insist, "run points whose memory estimate exceeds the machine's available memory");
  cmd->add_flag("--slurm", opts->slurm,
                "submit the points to run as a Slurm job array (OUT/sweep.sbatch, from slurm/sweep-array.sbatch); "
                "sbatch options may follow FILE, e.g. --partition=cpu --time=2:00:00");
  cmd->add_option("--array-parallel", opts->array_parallel, "with --slurm: at most K array tasks at once");

  auto* collect = cmd->add_subcommand(
      "collect", "Collect a sweep directory's points into results.csv, results_by_config.csv, results.md and plots/");
  auto collect_dir = std::make_shared<std::string>();
  auto no_plots = std::make_shared<bool>(false);
  collect->add_option("DIR", *collect_dir, "the sweep directory")->required();
  collect->add_flag("--no-plots", *no_plots, "tables only");

  auto* point = cmd->add_subcommand(
      "point", "Run one point of a sweep directory (what the local sweep's processes and the Slurm tasks run)");
  auto point_dir = std::make_shared<std::string>();
  auto point_name = std::make_shared<std::string>();
  auto point_index = std::make_shared<int64_t>(-1);
  point->add_option("DIR", *point_dir, "the sweep directory")->required();
  point->add_option("--index", *point_index, "the point's index in sweep.json");
  point->add_option("--name", *point_name, "the point's name");
  cmd->require_subcommand(0, 1);
  cmd->allow_extras();  // sbatch options, passed on with --slurm

  collect->callback([&body, collect_dir, no_plots] {
    body = [collect_dir, no_plots](MpiEnv& env) {
      SEQ_CHECK(env.world() == 1, "sweep collect: run it as one process");
      nlohmann::json r = collect_sweep(*collect_dir, !*no_plots);
      std::printf("sweep collect: %zu points; %s/results.md, results.csv%s\n", r["rows"].size(), collect_dir->c_str(),
                  r["plots_note"].get<std::string>().empty()
                      ? ", plots/"
                      : (", no plots: " + r["plots_note"].get<std::string>()).c_str());
      return 0;
    };
  });
  point->callback([&body, point_dir, point_name, point_index] {
    body = [point_dir, point_name, point_index](MpiEnv& env) {
      SEQ_CHECK(!point_name->empty() || *point_index >= 0, "sweep point: give --index I or --name NAME");
      return run_sweep_point(*point_dir, *point_name, *point_index, env);
    };
  });
  cmd->callback([&body, cmd, collect, point, file, opts] {
    if (collect->parsed() || point->parsed()) {
      SEQ_CHECK(cmd->remaining().empty(), "sweep ", collect->parsed() ? "collect" : "point", ": unexpected argument `",
                cmd->remaining().front(), "`");
      return;
    }
    opts->sbatch_args = cmd->remaining();
    body = [cmd, file, opts](MpiEnv& env) {
      SEQ_CHECK(!file->empty(), "sweep: give the sweep file (seqmend sweep FILE), or `sweep collect DIR`");
      SEQ_CHECK(env.world() == 1, "sweep: run the sweep command as one process; --ranks R gives each point R ranks");
      return run_sweep(*file, *opts);
    };
  });
}

}  // namespace seqmend
