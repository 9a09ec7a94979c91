#!/usr/bin/env bash
# The device check's end-to-end phase: `seqmend pretrain` on the tiny config for a few steps on the
# CPU, then with device=cuda (the model, AdamW and NCCL's one-rank gradient buckets on the GPU),
# compared step by step by compare_pretrain.py. Without a GPU only the CPU run happens (it proves the
# binary, its MPI start as a world of one, the data and the config), and the phase says it skipped.
#   pretrain_check.sh SEQMEND DIR REPORT GPU     DIR holds pretrain_tiny.yaml and data/ (the bundle's
#                                                pretrain/); GPU = 1 when the machine shows one
# SEQMEND is device-check's run/seqmend, which starts seqmend on the bundle's own C runtime (Python,
# started here too, keeps the machine's own libraries: nothing is exported).
# Then `seqmend finetune` of the detector on the CPU run's encoder, on the CPU and with device=cuda
# (encoder, heads and focal losses on the GPU), compared the same way.
# Writes REPORT/pretrain/{cpu,cuda,finetune_cpu,finetune_cuda}/ (run directories, logs) and
# REPORT/pretrain/{compare,finetune_compare}.json ({"status": ok|FAILED|skipped, "reason", ...}),
# which summarize.py turns into rows of the table.
set -uo pipefail
SEQMEND=$1 DIR=$2 REPORT=$3 GPU=$4
STEPS=${PRETRAIN_CHECK_STEPS:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
out=$REPORT/pretrain
rm -rf "$out" && mkdir -p "$out"
verdict() {  # verdict STATUS REASON [STAGE]
  local stage=${3:-pretrain} file=$out/compare.json
  [[ $stage == finetune ]] && file=$out/finetune_compare.json
  "${PYTHON:-python3}" -c 'import json, sys; json.dump({"status": sys.argv[1], "reason": sys.argv[2]}, open(sys.argv[3], "w"))' \
    "$1" "$2" "$file"
  echo "$stage: $1 — $2"
}
run() {  # run DEVICE: one training run; its last error line in $why on failure
  "$SEQMEND" pretrain --config "$DIR/pretrain_tiny.yaml" data_dir="$DIR/data" run_dir="$out/$1" \
    device="$1" max_steps="$STEPS" eval_every="$STEPS" checkpoint.every=0 > "$out/$1.log" 2>&1
  local rc=$?
  why="seqmend pretrain device=$1 exited $rc: $(grep -v '^\s*$' "$out/$1.log" | tail -n 1)"
  return $rc
}
finetune() {  # finetune DEVICE: the detector on the CPU pretrain's encoder, labels injected
  "$SEQMEND" finetune data_dir="$DIR/data" run_dir="$out/finetune_$1" encoder_checkpoint="$out/cpu" device="$1" \
    labels=inject max_steps="$STEPS" log_every=1 optim.warmup_steps=2 checkpoint.every=0 \
    valid_max_sequences=50 > "$out/finetune_$1.log" 2>&1
  local rc=$?
  why="seqmend finetune device=$1 exited $rc: $(grep -v '^\s*$' "$out/finetune_$1.log" | tail -n 1)"
  return $rc
}
start=$SECONDS
run cpu || { verdict FAILED "$why"; verdict FAILED "no encoder: the CPU pretrain failed" finetune; exit 1; }
loss=$(tail -n 20 "$out/cpu/metrics.jsonl" | grep '"loss"' | tail -n 1 | sed 's/.*"loss":\([^,}]*\).*/\1/')
echo "pretrain: cpu run of $STEPS steps in $((SECONDS - start)) s, last loss $loss"
finetune cpu || { verdict FAILED "$why" finetune; exit 1; }
echo "finetune: cpu run of $STEPS steps"
if [[ $GPU != 1 ]]; then
  verdict skipped "no GPU; the CPU run finished ($STEPS steps, last loss ${loss:0:8})"
  verdict skipped "no GPU; the CPU run finished ($STEPS steps)" finetune
  exit 0
fi
start=$SECONDS
status=0
if run cuda; then
  echo "pretrain: cuda run of $STEPS steps in $((SECONDS - start)) s"
  "${PYTHON:-python3}" "$HERE/compare_pretrain.py" "$out/cpu/metrics.jsonl" "$out/cuda/metrics.jsonl" \
    "$out/compare.json" pretrain || status=1
else
  verdict FAILED "$why"
  status=1
fi
if finetune cuda; then
  "${PYTHON:-python3}" "$HERE/compare_pretrain.py" "$out/finetune_cpu/metrics.jsonl" \
    "$out/finetune_cuda/metrics.jsonl" "$out/finetune_compare.json" finetune || status=1
else
  verdict FAILED "$why" finetune
  status=1
fi
exit $status
