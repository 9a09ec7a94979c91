#!/usr/bin/env bash
# Builds the CUDA test and benchmark programs on this (GPU-less) machine and packs them into one
# folder that tools/device-check runs on the GPU machine, which has the NVIDIA driver, CUDA 13,
# Python and PyTorch but none of our other dependencies (MPI, HDF5, yaml-cpp, OpenBLAS, ...).
#   tools/make-device-bundle.sh [--no-build] [BUNDLE_DIR]   (default: build-device-bundle/, ignored
#                                        by git; --no-build packs what $SEQMEND_CUDA_BUILD already
#                                        holds, as the ctest dry run does with its own build tree)
# The folder holds bin.tar.gz (test_cuda, test_nccl, bench_cuda_kernels, bench_cuda_train, seqmend),
# lib.tar.gz (every shared library they load except the CUDA libraries — libcuda, libcudart,
# libcublas(Lt), libcudnn, libnccl are found on the GPU machine at run time — plus OpenMPI's
# components and help texts, since seqmend and test_nccl start MPI as a world of one, plus this
# machine's own glibc: device-check starts every bundled program through the bundled loader
# ld-linux-x86-64.so.2, so the programs run on the glibc they were built against whatever the GPU
# machine's is — Debian 12 builds need GLIBC_2.34+, libstdc++ and libevent 2.35/2.36, newer than
# Ubuntu 22.04's or RHEL 8/9's), CUDART (the soname of the CUDA runtime the programs link),
# pretrain/ (experiments/configs/pretrain_tiny.yaml and a tiny simulated data set for the pretrain phase),
# the Python helpers and device-check itself.
# Built with SEQMEND_NATIVE=OFF: the GPU machine's processor may lack this one's instructions.
# Must stay under 64 MiB (the size that travels to the GPU machine).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SEQMEND_CUDA_BUILD:-$ROOT/build-cuda}
BUILD_FIRST=1
if [[ ${1:-} == --no-build ]]; then
  BUILD_FIRST=0
  shift
fi
BUNDLE=${1:-$ROOT/build-device-bundle}
JOBS=${JOBS:-2}
PROGRAMS=(tests/test_cuda tests/test_nccl bench_cuda_kernels bench_cuda_train experiments/seqmend)

if ((BUILD_FIRST)); then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSEQMEND_BENCH=OFF \
        -DSEQMEND_NATIVE=OFF -DSEQMEND_CUDA=ON >/dev/null
fi
grep -q 'SEQMEND_WITH_CUDA=1' "$BUILD/build.ninja" 2>/dev/null ||
  { echo "make-device-bundle: $BUILD has no CUDA backend (nvcc not found?)" >&2; exit 1; }
if ((BUILD_FIRST)); then
  cmake --build "$BUILD" --target test_cuda test_nccl bench_cuda_kernels bench_cuda_train seqmend -j "$JOBS"
fi

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/bin" "$BUNDLE/lib"
for p in "${PROGRAMS[@]}"; do
  [[ -x $BUILD/$p ]] || { echo "make-device-bundle: $BUILD/$p is not built" >&2; exit 1; }
  cp "$BUILD/$p" "$BUNDLE/bin/"
done
strip --strip-debug "$BUNDLE/bin/"* 2>/dev/null || true

# Shared libraries to carry: everything ldd resolves, minus the C runtime (carried whole below) and
# the CUDA libraries (they must match the GPU machine's driver).
glibc='^(linux-vdso|ld-linux|libc\.so|libm\.so|libmvec\.so|libdl\.so|librt\.so|libpthread\.so|libresolv\.so|libutil\.so|libanl\.so|libnss_)'
skip="$glibc|^(libcuda\.so|libcudart\.so|libcublas|libcublasLt|libcudnn|libnccl|libnvidia)"
for exe in "$BUNDLE/bin/"*; do
  ldd "$exe" | awk '/=>/ && $3 ~ /^\// {print $1, $3}' | while read -r name path; do
    [[ "$name" =~ $skip ]] && continue
    [[ -e "$BUNDLE/lib/$name" ]] || cp -L "$path" "$BUNDLE/lib/$name"
  done
done
# OpenMPI opens its components (mca_*.so) at MPI_Init from its install tree, which the GPU machine
# lacks. Only the components whose libraries all travel (or are the C runtime) come along; the
# others (UCX, libfabric, InfiniBand, PMIx transports) a world of one does not use.
if command -v ompi_info >/dev/null; then
  components=$(ompi_info --path pkglibdir --parsable | sed -n 's/^path:pkglibdir://p')
  mkdir -p "$BUNDLE/lib/openmpi" "$BUNDLE/lib/openmpi-help"
  for so in "$components"/mca_*.so; do
    carried=1
    while read -r name path; do
      [[ "$name" =~ $skip || -e "$BUNDLE/lib/$name" ]] || { carried=0; break; }
    done < <(ldd "$so" | awk '/=>/ && $3 ~ /^\// {print $1, $3}')
    ((carried)) && cp "$so" "$BUNDLE/lib/openmpi/"
  done
  cp "$(ompi_info --path pkgdatadir --parsable | sed -n 's/^path:pkgdatadir://p')"/help-*.txt "$BUNDLE/lib/openmpi-help/"
else
  echo "make-device-bundle: no ompi_info: OpenMPI's components stay out, seqmend and test_nccl will not start there" >&2
fi
strip --strip-unneeded "$BUNDLE/lib/"*.so* "$BUNDLE/lib/openmpi/"* 2>/dev/null || true
# The C runtime the programs were linked against, copied after the strip above (Debian ships it
# stripped; the loader is best left as built): the loader, libc and every glibc library a program, a bundled library or a CUDA library of the GPU
# machine may name — libpthread, libdl and librt are empty since glibc 2.34, but libcudart and
# libcublas still name them, and the GPU machine's own (an older glibc's) must not be mixed in.
# libnss_* serve NSS lookups (files and dns are inside libc since 2.34; compat is not).
libc_dir=$(dirname "$(ldd "$BUNDLE/bin/test_cuda" | awk '$1 == "libc.so.6" {print $3}')")
for f in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libmvec.so.1 libpthread.so.0 libdl.so.2 librt.so.1 \
         libresolv.so.2 libutil.so.1 libanl.so.1 libnss_files.so.2 libnss_dns.so.2 libnss_compat.so.2; do
  if [[ -e $libc_dir/$f ]]; then
    cp -L "$libc_dir/$f" "$BUNDLE/lib/$f"
  elif [[ $f == ld-linux-x86-64.so.2 || $f == libc.so.6 ]]; then
    echo "make-device-bundle: no $f in $libc_dir: cannot carry the C runtime" >&2
    exit 1
  fi
done
readelf -d "$BUNDLE/bin/test_cuda" | sed -n 's/.*(NEEDED).*\[\(libcudart\.so[.0-9]*\)\]/\1/p' | head -n 1 > "$BUNDLE/CUDART"
[[ -s $BUNDLE/CUDART ]] || { echo "make-device-bundle: test_cuda links no libcudart" >&2; exit 1; }
# The bundle must be closed: every library anything in it names travels (or is a CUDA library of
# the GPU machine), and every symbol version it needs is defined by the bundled file (GLIBC_2.36 by
# the bundled libc, GLIBCXX_3.4.29 by the bundled libstdc++, ...). This machine's CUDA libraries,
# loaded into the same processes there, are checked against the bundled glibc too.
python3 "$ROOT/tools/device/bundle_abi.py" "$BUNDLE" /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib ||
  { echo "make-device-bundle: the bundle would not run on another machine's C runtime (above)" >&2; exit 1; }
# Compressed (OpenBLAS alone is 35 MB, 11 MB gzipped; each program holds the device code of every
# kernel for two architectures, 15 MB, 4 MB gzipped): device-check unpacks them into a temp folder.
tar -C "$BUNDLE" -czf "$BUNDLE/lib.tar.gz" lib
tar -C "$BUNDLE" -czf "$BUNDLE/bin.tar.gz" bin
rm -rf "$BUNDLE/lib" "$BUNDLE/bin"

cp "$ROOT/tools/device-check" "$BUNDLE/device-check"
cp "$ROOT/tools/device/sdpa_bench.py" "$ROOT/tools/device/summarize.py" \
   "$ROOT/tools/device/train_bench_torch.py" "$ROOT/tools/bench_vs_torch.py" "$ROOT/tools/torch_twin.py" \
   "$ROOT/tools/device/pretrain_check.sh" "$ROOT/tools/device/compare_pretrain.py" "$BUNDLE/"
# The pretrain phase's data: the tiny simulated set experiments/configs/pretrain_tiny.yaml names, made here
# (seconds on the CPU) so the GPU machine only trains.
mkdir -p "$BUNDLE/pretrain"
cp "$ROOT/experiments/configs/pretrain_tiny.yaml" "$BUNDLE/pretrain/"
"$BUILD/experiments/seqmend" simulate --config "$ROOT/experiments/configs/simulate.yaml" --out "$BUNDLE/pretrain/data" \
  simulator.num_users=120 simulator.num_items=80 simulator.length_max=40 simulator.length_median=15 \
  max_events_per_shard=600 >/dev/null
rm -rf "$BUNDLE/pretrain/data/clean" "$BUNDLE/pretrain/data/repair_truth.tsv" "$BUNDLE/pretrain/.data.lock"
git -C "$ROOT" rev-parse --short HEAD > "$BUNDLE/COMMIT" 2>/dev/null || echo unknown > "$BUNDLE/COMMIT"

size=$(du -sb "$BUNDLE" | cut -f1)
echo "make-device-bundle: $BUNDLE, $((size / 1048576)) MiB, $(tar -tzf "$BUNDLE/lib.tar.gz" | grep -c '\.so') libraries"
if (( size > 64 * 1048576 )); then
  echo "make-device-bundle: the bundle is over 64 MiB" >&2
  exit 1
fi
