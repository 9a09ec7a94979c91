#!/usr/bin/env bash
# Installs every Debian/Ubuntu package seqmend builds, tests and benchmarks with. Idempotent: does
# nothing when all are present. Needs root or sudo.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  openmpi-bin libopenmpi-dev            # MPI ranks (mpirun, and srun --mpi=pmix under Slurm)
  libhdf5-openmpi-dev hdf5-tools         # parallel HDF5 for shards and checkpoints
  libyaml-cpp-dev                        # experiment configs
  libopenblas-dev                        # CPU GEMM fallback and BLAS
  libdnnl-dev                            # CPU GEMM (oneDNN: AVX-512/AMX code chosen at run time)
  ocl-icd-opencl-dev                     # Debian's oneDNN CMake package requires OpenCL (only recommended)
  libgtest-dev libgmock-dev              # tests
  libbenchmark-dev                       # benchmarks
  clang                                  # libFuzzer targets (tests/fuzz, build-fuzz)
  libcli11-dev nlohmann-json3-dev        # command line, JSON manifests and metrics
  zlib1g-dev
  python3 python3-numpy python3-h5py     # tests that read shards the way a user would
  python3-pip                            # fetches the cuDNN frontend headers from PyPI (below)
  python3-torch                          # tools/: PyTorch twin for reference values and speed peers
  python3-matplotlib                     # report plots
  slurmctld slurmd slurm-client munge    # one-node Slurm for tests/slurm (slurm/local-cluster.sh; ~4 MB)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# With the CUDA toolkit present: the header-only cuDNN frontend for cuDNN's fused attention
# (kernels/attention_cudnn.cu), unpacked from its PyPI wheel (the headers are the same in every
# wheel) into ~/.cache/seqmend/cudnn-frontend, where CMake looks. Without it (offline) the build
# goes on and that one backend reports itself unavailable.
CUDNN_FRONTEND_VERSION=1.32.0
fe_dir=${SEQMEND_CUDNN_FRONTEND_HOME:-$HOME/.cache/seqmend/cudnn-frontend}
if { command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ]; } &&
   [ ! -f "$fe_dir/include/cudnn_frontend.h" ]; then
  tmp=$(mktemp -d)
  if python3 -m pip download --quiet --no-deps --only-binary=:all: --timeout 20 --retries 1 -d "$tmp" \
       "nvidia-cudnn-frontend==$CUDNN_FRONTEND_VERSION" >/dev/null 2>&1 &&
     python3 -m zipfile -e "$tmp"/*.whl "$tmp/wheel" && [ -f "$tmp/wheel/include/cudnn_frontend.h" ]; then
    mkdir -p "$fe_dir" && rm -rf "$fe_dir/include" && cp -r "$tmp/wheel/include" "$fe_dir/include"
    echo "install-deps: cuDNN frontend $CUDNN_FRONTEND_VERSION headers in $fe_dir/include"
  else
    echo "install-deps: could not fetch the cuDNN frontend from PyPI; the cudnn attention backend will be unavailable"
  fi
  rm -rf "$tmp"
fi
