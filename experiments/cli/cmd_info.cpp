#include <cstdio>

#include "distributed/mpi_env.h"
#include "experiments/cli/command.h"
#include "kernels/device.h"
#include "kernels/gemm.h"
#include "kernels/threads.h"

namespace seqmend {

void add_info_command(CLI::App& app, CommandBody& body) {
  auto* cmd = app.add_subcommand("info", "Print the build and the process layout (rank, threads, GPUs)");
  cmd->callback([&body] {
    body = [](MpiEnv& env) {
      apply_threads_setting(0);  // what a stage with `threads: 0` would use
      std::printf("seqmend rank %d/%d (local %d/%d) on %s: %d threads, CUDA %s, %d GPU(s)\n", env.rank(),
                  env.world(), env.local_rank(), env.local_world(), env.host().c_str(), num_threads(),
                  cuda_compiled() ? "compiled" : "not compiled", cuda_device_count());
      if (env.rank() == 0)
        std::printf("CPU %s (%s): GEMMs through %s (SEQMEND_GEMM=auto|onednn|openblas), OpenBLAS core %s\n",
                    cpu_model_name().c_str(), cpu_isa().c_str(), gemm_path_name(gemm_path()), blas_core().c_str());
      return 0;
    };
  });
}

}  // namespace seqmend
