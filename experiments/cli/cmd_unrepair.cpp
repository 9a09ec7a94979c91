#include <cstdio>

#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/repair/repair_shard_set.h"
#include "io/shard_set.h"

namespace seqmend {

void add_unrepair_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "unrepair",
      "Undo a repair: re-create the original shard set from a repaired one (its shards, quarantine/ and "
      "edits.csv) exactly, sequence by sequence");
  struct Args {
    std::string in, out;
    bool overwrite = false;
    bool no_fsync = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--in,-i", args->in, "Repaired shard set directory (written by the repair stage)")->required();
  cmd->add_option("--out,-o", args->out, "Output directory for the re-created shard set")->required();
  cmd->add_flag("--overwrite", args->overwrite, "Replace a shard set already in --out");
  cmd->add_flag("--no-fsync", args->no_fsync, "Skip fsync of the shards (throw-away output only)");
  cmd->callback([&body, args] {
    body = [args](MpiEnv& env) {
      if (env.rank() != 0) return 0;  // single-process: rank 0 writes
      ShardOptions opts;
      opts.overwrite = args->overwrite;
      opts.fsync = !args->no_fsync;
      unrepair_shard_set(args->in, args->out, opts);
      ShardSet out = ShardSet::open(args->out);
      int64_t seqs = 0, events = 0;
      for (const std::string& s : out.split_names()) {
        seqs += out.split(s).sequences;
        events += out.split(s).events;
      }
      std::printf("unrepair: wrote %s: %lld sequences, %lld events in %zu splits\n", args->out.c_str(),
                  (long long)seqs, (long long)events, out.split_names().size());
      return 0;
    };
  });
}

}  // namespace seqmend
