#!/usr/bin/env bash
# The test command: installs dependencies, builds, runs every test, then rebuilds the unit tests
# under AddressSanitizer + UndefinedBehaviorSanitizer and runs them again, then runs every libFuzzer
# target (tests/fuzz, clang) for a fixed number of inputs under the same sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

echo "== build (Release, CUDA compiled when nvcc is found)"
# Without a GPU the CUDA code only has to compile and link: one architecture (the H100/H200's)
# instead of the default two halves nvcc's time. With a GPU the default stays.
cuda_arch=()
if ! nvidia-smi -L >/dev/null 2>&1; then cuda_arch=(-DCMAKE_CUDA_ARCHITECTURES=90); fi
bash tools/build.sh build "${cuda_arch[@]}"
echo "== tests"
(cd build && ctest --output-on-failure -j2 --timeout 900)

echo "== unit tests under ASan + UBSan"
# Only the unit-test programs (and the libraries under them) are built here.
cmake -S . -B build-asan -G Ninja -DSEQMEND_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSEQMEND_BENCH=OFF >/dev/null
cmake --build build-asan -j"$(nproc)" --target test_kernels test_core test_io test_distributed
# OpenMPI's own allocations are not ours to fix.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
(cd build-asan && ctest --output-on-failure -j2 -L unit --timeout 900)

echo "== fuzz targets (libFuzzer, ASan + UBSan), a fixed number of inputs each"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DSEQMEND_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"
(cd build-fuzz && ctest --output-on-failure -j2 -L fuzz --timeout 900)
