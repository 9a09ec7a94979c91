#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string_view>

#include "core/base/error.h"
#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "io/hdf5_support.h"
#include "io/utf8.h"
#include "kernels/gemm.h"

int main(int argc, char** argv) {
  seqmend::MpiEnv env(&argc, &argv);
  CLI::App app{"seqmend: find and repair anomalies in user-behaviour sequences"};
  app.require_subcommand(1);
  seqmend::CommandBody body;
  seqmend::add_info_command(app, body);
  seqmend::add_simulate_command(app, body);
  seqmend::add_ingest_command(app, body);
  seqmend::add_corrupt_command(app, body);
  seqmend::add_pretrain_command(app, body);
  seqmend::add_finetune_command(app, body);
  seqmend::add_detect_command(app, body);
  seqmend::add_unrepair_command(app, body);
  seqmend::add_repair_command(app, body);
  seqmend::add_evaluate_command(app, body);
  seqmend::add_run_command(app, body);
  seqmend::add_sweep_command(app, body);
  // Arguments end up in JSON records (run.json, manifests: paths, ids): they must be UTF-8, which a
  // JSON library would otherwise report without saying which argument.
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (const size_t at = seqmend::utf8_error_at(a); at != std::string_view::npos) {
      std::fprintf(stderr, "seqmend: error: argument %d `%s` is not valid UTF-8 (byte %zu); seqmend records its "
                           "arguments and paths as UTF-8 text\n", i, seqmend::shown(a).c_str(), at);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help or the parse error (rank 0 only would be nicer, but all agree)
    return code;
  }
  try {
    // Checked first: a bad SEQMEND_GEMM is an error before any work, and slow GEMMs are said once.
    if (const std::string w = seqmend::gemm_warning(); body && !w.empty() && env.rank() == 0)
      std::fprintf(stderr, "seqmend: warning: %s\n", w.c_str());
    return body ? body(env) : 0;
  } catch (const std::exception& e) {
    if (env.world() > 1) seqmend::MpiEnv::abort_job(e.what());
    std::fprintf(stderr, "seqmend: error: %s\n", e.what());
    if (seqmend::hdf5::open_files() > 0) {
      // A file whose last write failed (a full disk) cannot be closed; HDF5's shutdown inside
      // MPI_Finalize would crash on it. Everything of ours is written or removed: leave now.
      std::fflush(nullptr);
      _exit(1);
    }
    return 1;
  }
}
