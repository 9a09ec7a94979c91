#include <cstdio>
#include <memory>

#include "core/base/error.h"
#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "experiments/cli/corrupt_stage.h"
#include "experiments/cli/stage_args.h"

namespace seqmend {

void add_corrupt_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand(
      "corrupt",
      "Inject labelled anomalies into an ingested (clean, leave-one-out) shard set and write the corrupted set "
      "(DIR) with the input's sequences in DIR/clean and repair ground truth in DIR/repair_truth.tsv, as "
      "`seqmend simulate` does for simulated data");
  auto args = add_stage_args<CorruptConfig>(*cmd);
  struct Flags {
    std::string input, out;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--input,-i", flags->input, "Clean shard set to corrupt (e.g. written by seqmend ingest)");
  cmd->add_option("--out,-o", flags->out, "Output directory (created; must be empty unless overwrite=true)");
  cmd->callback([&body, args, flags] {
    body = [args, flags](MpiEnv& env) {
      auto cfg = args->load<CorruptConfig>();
      if (args->print_config) return print_config(cfg, env);
      SEQ_CHECK(!flags->input.empty() && !flags->out.empty(),
                "corrupt: --input DIR and --out DIR are required. HINT: seqmend corrupt --input DATA --out DIR "
                "[--config FILE] [inject.noise_rate=0.1 ...]");
      // One pass over data that fits in memory: rank 0 writes, other ranks have nothing to do.
      if (env.rank() != 0) return 0;
      nlohmann::json s = run_corrupt(cfg, flags->input, flags->out);
      std::printf("corrupt: wrote %s: %lld users + %lld bots, %lld items, %lld events (%lld clean), %lld dropped\n",
                  flags->out.c_str(), (long long)s["users"].get<int64_t>(), (long long)s["bots"].get<int64_t>(),
                  (long long)s["items"].get<int64_t>(), (long long)s["events"].get<int64_t>(),
                  (long long)s["clean_events"].get<int64_t>(), (long long)s["dropped_events"].get<int64_t>());
      std::printf("corrupt: events per label %s\n", s["label_events"].dump().c_str());
      std::printf("corrupt: sequences per label %s\n", s["label_sequences"].dump().c_str());
      return 0;
    };
  });
}

}  // namespace seqmend
