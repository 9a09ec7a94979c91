#!/usr/bin/env bash
# CI dry run of the GPU device check on a machine without a GPU, so a broken script or bundle is
# caught before it meets a GPU: packs the device bundle from this build tree
# (tools/make-device-bundle.sh --no-build), runs the bundle's device-check, and requires that it
# finishes within its time, prints the table with the GPU rows marked "no GPU", and exits 0 (a dry
# run's documented status: nothing failed).
#   dry_run_test.sh BUILD_DIR WITH_CUDA      (ctest device_check_dry_run, label integration)
# Skips (exit 77) in a build without the CUDA backend (nothing to bundle) and on a machine with a
# GPU, where the real check is tools/device-check itself.
set -uo pipefail
BUILD=$1 WITH_CUDA=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [[ $WITH_CUDA != 1 ]]; then
  echo "device_check_dry_run: skipped — this build has no CUDA backend (SEQMEND_WITH_CUDA is off: nvcc not" \
       "found, or -DSEQMEND_CUDA=OFF), so there is no device bundle to check"
  exit 77
fi
if nvidia-smi -L 2>/dev/null | grep -q '^GPU' || compgen -G "/proc/driver/nvidia/gpus/*" >/dev/null; then
  echo "device_check_dry_run: skipped — this machine has a GPU: run tools/device-check for the real check"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "device_check_dry_run: FAILED — $*" >&2
  exit 1
}

start=$SECONDS
SEQMEND_CUDA_BUILD=$BUILD bash "$ROOT/tools/make-device-bundle.sh" --no-build "$work/bundle" ||
  fail "tools/make-device-bundle.sh could not pack $BUILD"
echo "device_check_dry_run: bundle packed in $((SECONDS - start)) s"
start=$SECONDS
OUT=$work/report timeout 150 bash "$work/bundle/device-check" > "$work/check.log" 2>&1
rc=$?
cat "$work/check.log"
echo "device_check_dry_run: device-check exit $rc after $((SECONDS - start)) s"
((rc == 124)) && fail "device-check did not finish within 150 s"
((rc == 0)) || fail "device-check exit $rc, expected 0 (nothing failed) on a machine without a GPU"
log=$work/check.log
expect() {  # expect REGEX WHAT
  grep -Eq "$1" "$log" || fail "no $2 in the output (pattern: $1)"
}
expect '^device-check: our programs start through the bundled loader \(ld\.so .*CUDNN_FRONTEND_CUDART_LIB_NAME=libcudart\.so\.[0-9]+$' \
  "line saying the programs run on the bundled glibc and which CUDA runtime the cuDNN frontend opens"
expect '^seqmend GPU device check .*NO GPU: a dry run' "table title marking the dry run"
expect '^tests +test_cuda test_nccl +passed [0-9]+ +failed 0 +skipped [1-9]' "tests row (test_cuda and test_nccl, none failed)"
expect '^kernels +no GPU' "kernels row marked no GPU"
expect '^train_step +no GPU' "train_step row marked no GPU"
expect '^attention vs torch SDPA +no GPU' "SDPA row marked no GPU"
expect '^pretrain cuda vs cpu +no GPU +no GPU; the CPU run finished' "pretrain row (no GPU, CPU run finished)"
expect '^finetune cuda vs cpu +no GPU +no GPU; the CPU run finished' "finetune row (no GPU, CPU detector run finished)"
if grep -q 'unresolved libraries' "$log"; then fail "the bundle's programs have unresolved libraries"; fi
if grep -q "skipped, the check's" "$log"; then fail "a phase was skipped for lack of budget"; fi
echo "device_check_dry_run: passed"
