#include <cstdio>
#include <memory>

#include "core/base/error.h"
#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/cli/stage_args.h"
#include "io/ingest.h"

namespace seqmend {

void add_ingest_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "ingest",
      "Read an interaction log, clean it (malformed rows, duplicates, ratings, k-core, lengths), split it "
      "(leave-one-out or temporal) and write a shard set with manifest.json to DIR. Either DIR ends up "
      "complete or it is not created.");
  auto args = add_stage_args<IngestOptions>(*cmd);
  struct Flags {
    std::string format, input, out;
    bool overwrite = false;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--format,-f", flags->format, "Log format (overrides the config's `format`)")
      ->check(CLI::IsMember({"movielens", "recbole", "taobao", "seqline", "csv"}));
  cmd->add_option("--input,-i", flags->input, "Log file; recbole also takes the dataset folder (overrides `input`)");
  cmd->add_option("--out,-o", flags->out, "Output directory for the shard set")->required();
  cmd->add_flag("--overwrite", flags->overwrite, "Replace an existing shard set in DIR");
  cmd->callback([&body, args, flags] {
    body = [args, flags](MpiEnv& env) {
      auto cfg = args->load<IngestOptions>();
      if (!flags->format.empty()) cfg.format = flags->format;
      if (!flags->input.empty()) cfg.input = flags->input;
      if (args->print_config) return print_config(cfg, env);
      SEQ_CHECK(!cfg.input.empty(), "ingest: no input. HINT: seqmend ingest --format FMT --input FILE --out DIR");
      // Ingest is one sequential pass over one file: rank 0 does it, other ranks have nothing to do.
      if (env.rank() != 0) return 0;
      nlohmann::json manifest = ingest_to_dir(cfg, flags->out, flags->overwrite);
      const auto& extra = manifest["extra"];
      std::fputs(format_ingest_report(extra["ingest"]).c_str(), stdout);
      const auto& counts = extra["split"]["counts"];
      std::printf("ingest: split %s: train %lld seq / %lld events, valid %lld / %lld, test %lld / %lld\n",
                  extra["split"]["method"].get<std::string>().c_str(),
                  (long long)counts["train"]["sequences"].get<int64_t>(),
                  (long long)counts["train"]["events"].get<int64_t>(),
                  (long long)counts["valid"]["sequences"].get<int64_t>(),
                  (long long)counts["valid"]["events"].get<int64_t>(),
                  (long long)counts["test"]["sequences"].get<int64_t>(),
                  (long long)counts["test"]["events"].get<int64_t>());
      std::printf("ingest: wrote %s (manifest.json; report in extra.ingest, split in extra.split)\n",
                  flags->out.c_str());
      return 0;
    };
  });
}

}  // namespace seqmend
