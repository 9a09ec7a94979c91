#!/usr/bin/env bash
# Installs every Debian/Ubuntu package seqmend builds, tests and benchmarks with. Idempotent: does
# nothing when all are present. Needs root or sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  openmpi-bin libopenmpi-dev            # MPI ranks (mpirun, and srun --mpi=pmix under Slurm)
  libhdf5-openmpi-dev hdf5-tools         # parallel HDF5 for shards and checkpoints
  libyaml-cpp-dev                        # experiment configs
  libopenblas-dev                        # CPU GEMM
  libgtest-dev libgmock-dev              # tests
  libbenchmark-dev                       # benchmarks
  libcli11-dev nlohmann-json3-dev        # command line, JSON manifests and metrics
  zlib1g-dev
  python3 python3-numpy python3-h5py     # tests that read shards the way a user would
  python3-torch                          # tools/: PyTorch twin for reference values and speed peers
  python3-matplotlib                     # report plots
  slurmctld slurmd slurm-client munge    # one-node Slurm for tests/slurm (slurm/local-cluster.sh; ~4 MB)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
