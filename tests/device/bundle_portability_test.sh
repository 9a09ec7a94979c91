#!/usr/bin/env bash
# The device bundle must start on whatever Linux the GPU machine runs (Ubuntu 22.04's glibc 2.35,
# RHEL 8/9's 2.28/2.34 are older than the Debian 12 glibc 2.36 the programs are built against):
# tools/make-device-bundle.sh carries this machine's glibc and device-check starts every bundled
# program through the bundled loader. This test packs the bundle from this build tree and shows:
#  1. it is closed (tools/device/bundle_abi.py): every library anything in it names travels or is a
#     CUDA library of the GPU machine, and every symbol version it needs (GLIBC_*, GLIBCXX_*, GCC_*)
#     is defined by the bundled file — and the check does catch a missing library and a bundled
#     glibc older than what the programs need (both made here on a copy);
#  2. with this machine's whole system library folder hidden (an empty tmpfs mounted over it in a
#     private mount namespace), test_cuda, test_nccl (MPI as a world of one, OpenMPI's components)
#     and a 10-step CPU `seqmend pretrain` (OpenBLAS, HDF5, yaml-cpp) run through the bundled loader,
#     and every object they load comes from the bundle or the CUDA toolkit;
#  3. the bundle's own device-check passes its dry run with the system's libstdc++ and libgcc_s
#     unreadable (empty files mounted over them): its programs never touch them.
# 2 and 3 need a private mount namespace (root, util-linux unshare); without one they are replaced by
# the loader's --list of every program (no library from outside the bundle but CUDA's), saying so.
#   bundle_portability_test.sh BUILD_DIR WITH_CUDA     (ctest device_bundle_portability, integration)
# Skips (exit 77) in a build without the CUDA backend: there is no bundle to pack.
set -uo pipefail
BUILD=$1 WITH_CUDA=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [[ $WITH_CUDA != 1 ]]; then
  echo "device_bundle_portability: skipped — this build has no CUDA backend (SEQMEND_WITH_CUDA is off: nvcc" \
       "not found, or -DSEQMEND_CUDA=OFF), so there is no device bundle to check"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "device_bundle_portability: FAILED — $*" >&2
  exit 1
}
cuda_dirs=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib)

start=$SECONDS
SEQMEND_CUDA_BUILD=$BUILD bash "$ROOT/tools/make-device-bundle.sh" --no-build "$work/bundle" > "$work/pack.log" 2>&1 ||
  { cat "$work/pack.log"; fail "tools/make-device-bundle.sh could not pack $BUILD (or its ABI check failed)"; }
grep '^bundle_abi\|^make-device-bundle' "$work/pack.log"
echo "device_bundle_portability: bundle packed in $((SECONDS - start)) s"
b=$work/unpacked
mkdir -p "$b"
tar -C "$b" -xzf "$work/bundle/lib.tar.gz" && tar -C "$b" -xzf "$work/bundle/bin.tar.gz" || fail "cannot unpack the bundle"
loader=$b/lib/ld-linux-x86-64.so.2
[[ -x $loader ]] || fail "the bundle carries no loader (lib/ld-linux-x86-64.so.2)"

# 1. Closed, and the check has teeth.
python3 "$ROOT/tools/device/bundle_abi.py" "$b" "${cuda_dirs[@]}" || fail "the bundle is not closed (above)"
neg=$work/negative
cp -a "$b" "$neg"
rm "$neg/lib/libpthread.so.0"
python3 "$ROOT/tools/device/bundle_abi.py" "$neg" "${cuda_dirs[@]}" > "$work/neg1.log"
grep -q 'needs libpthread.so.0, which neither travels' "$work/neg1.log" ||
  fail "bundle_abi.py did not notice a missing libpthread.so.0 (which libcudart names)"
cp -a "$b/lib/libpthread.so.0" "$neg/lib/"
# An older glibc in the bundle: libresolv defines only some of libc's GLIBC_ versions.
cp "$b/lib/libresolv.so.2" "$neg/lib/libc.so.6"
python3 "$ROOT/tools/device/bundle_abi.py" "$neg" "${cuda_dirs[@]}" > "$work/neg2.log"
grep -Eq 'bin/seqmend: needs GLIBC_2\.[0-9]+ from libc\.so\.6; the bundle.s libc\.so\.6 provides up to GLIBC_' "$work/neg2.log" ||
  { head -n 5 "$work/neg2.log"; fail "bundle_abi.py did not notice a bundled libc older than the programs need"; }
echo "device_bundle_portability: the ABI check passes the bundle and fails a bundle missing libpthread or with an older libc"

libs=$b/lib
for d in "${cuda_dirs[@]}"; do [[ -d $d ]] && libs=$libs:$d; done
mpi_env=(OMPI_MCA_mca_base_component_path="$b/lib/openmpi" OPAL_PKGDATADIR="$b/lib/openmpi-help"
         OMPI_MCA_ess_singleton_isolated=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader)
# The folder holding this machine's libc and libstdc++ (Debian: /usr/lib/x86_64-linux-gnu, which
# /lib/x86_64-linux-gnu is under merged /usr).
sysdir=$(dirname "$(readlink -f "$(ldd "$b/bin/test_cuda" | awk '$1 == "libc.so.6" {print $3}')")")
stdcxx=$(readlink -f "$(ldd "$b/bin/test_cuda" | awk '$1 == "libstdc++.so.6" {print $3}')")
gcc_s=$(readlink -f "$(ldd "$b/bin/test_cuda" | awk '$1 == "libgcc_s.so.1" {print $3}')")
[[ -f $sysdir/libc.so.6 && -f $stdcxx && -f $gcc_s ]] || fail "cannot find this machine's libc, libstdc++ and libgcc_s"

if ! unshare -m true 2>/dev/null; then
  echo "device_bundle_portability: no private mount namespace here (unshare -m needs root): the programs are not" \
       "run with the system's libraries hidden; checking the loader's resolution instead"
  for exe in "$b"/bin/*; do
    "$loader" --library-path "$libs" --list "$exe" > "$work/list.log" 2>&1 || { cat "$work/list.log"; fail "$exe does not link"; }
    outside=$(awk '/=>/ {print $3}' "$work/list.log" | grep -v "^$b/lib/" | grep -Ev '/(libcudart|libcublas|libcublasLt|libnccl|libcudnn)[^/]*$' || true)
    [[ -z $outside ]] || fail "$(basename "$exe") resolves libraries outside the bundle: $outside"
  done
  echo "device_bundle_portability: passed (without the namespace runs)"
  exit 0
fi

# 2. The system library folder hidden: only the bundle and the CUDA toolkit remain.
cat > "$work/hidden.sh" <<EOF
#!/bin/sh
# In a private mount namespace: hide $sysdir, then start the bundled loader (the shell is gone after
# exec, so nothing of the host's C runtime is needed from here on).
mount -t tmpfs none '$sysdir' || exit 90
[ -e '$stdcxx' ] && exit 91
LD_DEBUG=libs LD_DEBUG_OUTPUT='$work/lddebug'
export LD_DEBUG LD_DEBUG_OUTPUT
exec "\$@"
EOF
hidden() {  # hidden LOG PROGRAM ARGS...: PROGRAM (one of the bundle's) with the system folder hidden
  local log=$1 prog=$2
  shift 2
  env "${mpi_env[@]}" unshare -m sh "$work/hidden.sh" "$loader" --library-path "$libs" --argv0 "$prog" \
    "$b/bin/$prog" "$@" > "$work/$log" 2>&1
}
hidden test_cuda.log test_cuda --gtest_brief=1 || { tail -n 20 "$work/test_cuda.log"; fail "test_cuda did not run with $sysdir hidden"; }
grep -Eq 'tests? from .* ran' "$work/test_cuda.log" || fail "test_cuda ran no test with $sysdir hidden"
hidden test_nccl.log test_nccl --gtest_brief=1 || { tail -n 20 "$work/test_nccl.log"; fail "test_nccl did not run with $sysdir hidden"; }
grep -Eq 'tests? from .* ran' "$work/test_nccl.log" || fail "test_nccl ran no test with $sysdir hidden"
hidden pretrain.log seqmend pretrain --config "$work/bundle/pretrain/pretrain_tiny.yaml" data_dir="$work/bundle/pretrain/data" \
  run_dir="$work/run" device=cpu max_steps=10 eval_every=10 checkpoint.every=0 ||
  { tail -n 20 "$work/pretrain.log"; fail "seqmend pretrain did not run with $sysdir hidden"; }
grep -q '"step":10' "$work/run/metrics.jsonl" || fail "seqmend pretrain did not reach step 10 with $sysdir hidden"
loaded=$(cat "$work"/lddebug.* | sed -n 's/.*calling init: //p' | sort -u)
[[ -n $loaded ]] || fail "no loader trace (LD_DEBUG) from the hidden runs"
outside=$(grep -v "^$b/lib/" <<<"$loaded" | grep -Ev '/(libcudart|libcublas|libcublasLt|libnccl|libcudnn)[^/]*$' || true)
[[ -z $outside ]] || fail "objects loaded from outside the bundle and the CUDA libraries: $outside"
echo "device_bundle_portability: test_cuda, test_nccl and a 10-step CPU pretrain ran with $sysdir hidden;" \
     "$(wc -l <<<"$loaded") objects loaded, all from the bundle or the CUDA toolkit"

# 3. device-check itself (its run/ wrappers) where the system's libstdc++ and libgcc_s cannot load —
# as a dry run: on a machine with a GPU the real check is tools/device-check itself.
if nvidia-smi -L 2>/dev/null | grep -q '^GPU' || compgen -G "/proc/driver/nvidia/gpus/*" >/dev/null; then
  echo "device_bundle_portability: this machine has a GPU: device-check is not run here (tools/device-check is the real check)"
  echo "device_bundle_portability: passed"
  exit 0
fi
: > "$work/empty"
OUT=$work/report timeout 150 unshare -m sh -c "mount --bind '$work/empty' '$stdcxx' && mount --bind '$work/empty' '$gcc_s' &&
  exec bash '$work/bundle/device-check'" > "$work/check.log" 2>&1
rc=$?
((rc == 0)) || { tail -n 30 "$work/check.log"; fail "device-check exit $rc with the system's libstdc++ and libgcc_s unreadable"; }
grep -Eq '^tests +test_cuda test_nccl +passed [0-9]+ +failed 0' "$work/check.log" ||
  { tail -n 30 "$work/check.log"; fail "device-check's tests row is missing or shows failures"; }
grep -Eq '^pretrain cuda vs cpu .*(the CPU run finished|ok)' "$work/check.log" ||
  { tail -n 30 "$work/check.log"; fail "device-check's pretrain run did not finish"; }
if grep -q 'unresolved libraries' "$work/check.log"; then fail "device-check reports unresolved libraries"; fi
echo "device_bundle_portability: device-check passed with the system's libstdc++ and libgcc_s unreadable"
echo "device_bundle_portability: passed"
