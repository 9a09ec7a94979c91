#!/usr/bin/env bash
# The device check's end-to-end phase: `seqmend pretrain` on the tiny config for a few steps on the
# CPU, then with device=cuda (the model, AdamW and NCCL's one-rank gradient buckets on the GPU),
# compared step by step by compare_pretrain.py. Without a GPU only the CPU run happens (it proves the
# binary, its MPI start as a world of one, the data and the config), and the phase says it skipped.
#   pretrain_check.sh SEQMEND DIR REPORT GPU     DIR holds pretrain_tiny.yaml and data/ (the bundle's
#                                                pretrain/); GPU = 1 when the machine shows one
# SEQMEND is device-check's run/seqmend, which starts seqmend on the bundle's own C runtime (Python,
# started here too, keeps the machine's own libraries: nothing is exported).
# Writes REPORT/pretrain/{cpu,cuda}/ (run directories, logs) and REPORT/pretrain/compare.json
# ({"status": ok|FAILED|skipped, "reason", ...}), which summarize.py turns into a row of the table.
set -uo pipefail
SEQMEND=$1 DIR=$2 REPORT=$3 GPU=$4
STEPS=${PRETRAIN_CHECK_STEPS:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
out=$REPORT/pretrain
rm -rf "$out" && mkdir -p "$out"
verdict() {  # verdict STATUS REASON
  "${PYTHON:-python3}" -c 'import json, sys; json.dump({"status": sys.argv[1], "reason": sys.argv[2]}, open(sys.argv[3], "w"))' \
    "$1" "$2" "$out/compare.json"
  echo "pretrain: $1 — $2"
}
run() {  # run DEVICE: one training run; its last error line in $why on failure
  "$SEQMEND" pretrain --config "$DIR/pretrain_tiny.yaml" data_dir="$DIR/data" run_dir="$out/$1" \
    device="$1" max_steps="$STEPS" eval_every="$STEPS" checkpoint.every=0 > "$out/$1.log" 2>&1
  local rc=$?
  why="seqmend pretrain device=$1 exited $rc: $(grep -v '^\s*$' "$out/$1.log" | tail -n 1)"
  return $rc
}
start=$SECONDS
run cpu || { verdict FAILED "$why"; exit 1; }
loss=$(tail -n 20 "$out/cpu/metrics.jsonl" | grep '"loss"' | tail -n 1 | sed 's/.*"loss":\([^,}]*\).*/\1/')
echo "pretrain: cpu run of $STEPS steps in $((SECONDS - start)) s, last loss $loss"
if [[ $GPU != 1 ]]; then
  verdict skipped "no GPU; the CPU run finished ($STEPS steps, last loss ${loss:0:8})"
  exit 0
fi
start=$SECONDS
run cuda || { verdict FAILED "$why"; exit 1; }
echo "pretrain: cuda run of $STEPS steps in $((SECONDS - start)) s"
"${PYTHON:-python3}" "$HERE/compare_pretrain.py" "$out/cpu/metrics.jsonl" "$out/cuda/metrics.jsonl" "$out/compare.json"
