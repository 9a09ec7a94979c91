#!/usr/bin/env bash
# Builds the CUDA test and benchmark programs on this (GPU-less) machine and packs them into one
# folder that tools/device-check runs on the GPU machine, which has the NVIDIA driver, CUDA 13,
# Python and PyTorch but none of our other dependencies (MPI, HDF5, yaml-cpp, OpenBLAS, ...).
#   tools/make-device-bundle.sh [BUNDLE_DIR]     (default: build-device-bundle/, ignored by git)
# The folder holds bin.tar.gz (test_cuda, bench_cuda_kernels, bench_cuda_train), lib.tar.gz (every shared library they load
# except the C runtime and the CUDA libraries — libcuda, libcudart, libcublas(Lt), libcudnn, libnccl
# are found on the GPU machine at run time), the Python helpers and device-check itself.
# Built with SEQMEND_NATIVE=OFF: the GPU machine's processor may lack this one's instructions.
# Must stay under 64 MiB (the size that travels to the GPU machine).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SEQMEND_CUDA_BUILD:-$ROOT/build-cuda}
BUNDLE=${1:-$ROOT/build-device-bundle}
JOBS=${JOBS:-2}

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEQMEND_BENCH=OFF \
      -DSEQMEND_NATIVE=OFF -DSEQMEND_CUDA=ON >/dev/null
grep -q 'SEQMEND_WITH_CUDA=1' "$BUILD/build.ninja" 2>/dev/null ||
  { echo "make-device-bundle: $BUILD has no CUDA backend (nvcc not found?)" >&2; exit 1; }
cmake --build "$BUILD" --target test_cuda bench_cuda_kernels bench_cuda_train -j "$JOBS"

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/bin" "$BUNDLE/lib"
cp "$BUILD/tests/test_cuda" "$BUILD/bench_cuda_kernels" "$BUILD/bench_cuda_train" "$BUNDLE/bin/"
strip --strip-debug "$BUNDLE/bin/"* 2>/dev/null || true

# Shared libraries to carry: everything ldd resolves, minus the C runtime (the GPU machine's own is
# newer and must be used) and the CUDA libraries (they must match the GPU machine's driver).
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|librt\.so|libpthread\.so|libresolv\.so|libcuda\.so|libcudart\.so|libcublas|libcublasLt|libcudnn|libnccl|libnvidia)'
for exe in "$BUNDLE/bin/"*; do
  ldd "$exe" | awk '/=>/ && $3 ~ /^\// {print $1, $3}' | while read -r name path; do
    [[ "$name" =~ $skip ]] && continue
    [[ -e "$BUNDLE/lib/$name" ]] || cp -L "$path" "$BUNDLE/lib/$name"
  done
done
strip --strip-unneeded "$BUNDLE/lib/"* 2>/dev/null || true
# Compressed (OpenBLAS alone is 35 MB, 11 MB gzipped; each program holds the device code of every
# kernel for two architectures, 15 MB, 4 MB gzipped): device-check unpacks them into a temp folder.
tar -C "$BUNDLE" -czf "$BUNDLE/lib.tar.gz" lib
tar -C "$BUNDLE" -czf "$BUNDLE/bin.tar.gz" bin
rm -rf "$BUNDLE/lib" "$BUNDLE/bin"

cp "$ROOT/tools/device-check" "$BUNDLE/device-check"
cp "$ROOT/tools/device/sdpa_bench.py" "$ROOT/tools/device/summarize.py" \
   "$ROOT/tools/device/train_bench_torch.py" "$ROOT/tools/bench_vs_torch.py" "$ROOT/tools/torch_twin.py" "$BUNDLE/"
git -C "$ROOT" rev-parse --short HEAD > "$BUNDLE/COMMIT" 2>/dev/null || echo unknown > "$BUNDLE/COMMIT"

size=$(du -sb "$BUNDLE" | cut -f1)
echo "make-device-bundle: $BUNDLE, $((size / 1048576)) MiB, $(tar -tzf "$BUNDLE/lib.tar.gz" | grep -c '\.so') libraries"
if (( size > 64 * 1048576 )); then
  echo "make-device-bundle: the bundle is over 64 MiB" >&2
  exit 1
fi
