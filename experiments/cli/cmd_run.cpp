#include <cstdio>
#include <memory>
#include <string>

#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/run/dp_group.h"
#include "experiments/cli/pipeline.h"
#include "experiments/cli/repair_stage.h"

namespace seqmend {

void add_run_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "run",
      "Run the whole pipeline from one YAML file (sections per stage): simulate or ingest, pretrain, finetune, "
      "detect, repair, evaluate, report; one subdirectory per stage in run_dir, unchanged stages skipped");
  auto file = std::make_shared<std::string>();
  auto opts = std::make_shared<PipelineOptions>();
  cmd->add_option("FILE", *file, "pipeline YAML (see experiments/configs/quickstart.yaml)")->required();
  cmd->add_flag("--force", opts->force, "run every stage even when its inputs and config are unchanged");
  cmd->add_option("--stop-after", opts->stop_after, "last stage to run (data, pretrain, finetune, detect, repair, audit, "
                                                    "evaluate, report)");
  cmd->callback([&body, file, opts] {
    body = [file, opts](MpiEnv& env) {
      PipelineSpec spec = read_pipeline_spec(*file);
      auto group = DataParallelGroup::world();
      nlohmann::json r = run_pipeline(spec, *group, *opts);
      if (r.contains("stopped")) return DataParallelGroup::exit_code_stopped();  // requeue; rerun resumes
      if (env.rank() == 0 && (opts->stop_after.empty() || opts->stop_after == "report"))
        std::printf("run: finished; report in %s/report.md\n", spec.run_dir.c_str());
      else if (env.rank() == 0)  // the report stage did not run: report.md may be another run's
        std::printf("run: stopped after %s as asked; report of the stages so far in %s; without --stop-after the "
                    "later stages and the whole report follow\n",
                    opts->stop_after.c_str(), r.value("partial_report", std::string()).c_str());
      return 0;
    };
  });
}

}  // namespace seqmend
