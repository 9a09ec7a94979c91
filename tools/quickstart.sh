#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the whole pipeline on simulated data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh build
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Two ranks on a small machine share cores: OpenMP threads that spin while waiting starve the others.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mpirun -np 2 ./build/experiments/seqmend run experiments/configs/quickstart.yaml
echo "report: runs/quickstart/report.md"
