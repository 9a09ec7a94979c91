#!/usr/bin/env bash
# pretrain_slurm_test.sh SEQMEND_BINARY — checkpoint/requeue under a real (one-node) Slurm:
#  (a) `srun -n 2 --mpi=pmix seqmend pretrain` on a tiny config finishes as one world of 2 (it is
#      also the uninterrupted reference for (b));
#  (b) slurm/pretrain-cpu.sbatch with 2 ranks; once checkpoint 40 exists, `scancel --signal=USR1`
#      (what `#SBATCH --signal` does before the time limit) makes the ranks checkpoint and exit 75,
#      the script requeues the job, the requeued job resumes and finishes, and its losses and
#      results equal (a)'s bit for bit;
#  (c) slurm/pipeline-cpu.sbatch with a tiny pipeline: USR1 while pretraining → exit 75, requeue;
#      the requeued job skips the data stage, resumes pretraining from its checkpoint and runs the
#      pipeline on (to the end of detect, as --stop-after says).
# Exit 0 pass, 1 fail, 77 skipped (Slurm cannot be installed or run here: ctest SKIP_RETURN_CODE).
set -uo pipefail

BIN=$(realpath "${1:?usage: pretrain_slurm_test.sh path/to/seqmend}")
PY=/usr/bin/python3

fail() {
  echo "FAIL: $*" >&2
  [[ -n ${RUN:-} && -f $RUN/job.log ]] && { echo "--- tail of $RUN/job.log:" >&2; tail -15 "$RUN/job.log" >&2; }
  exit 1
}
source "$(dirname "$0")/cluster.sh"
[[ -x $BIN ]] || fail "$BIN is not built"
slurm_test_prelude

WORK=$(mktemp -d "${TMPDIR:-/tmp}/seqmend-slurm-pretrain.XXXXXX")
job=""
cleanup() {
  [[ -n $job ]] && scancel "$job" 2>/dev/null
  if (( started_here )); then "$CLUSTER" stop || echo "WARNING: stopping the local cluster failed" >&2; fi
  [[ -n ${SEQMEND_KEEP_TEST_DIR:-} ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_out_of_queue JOB LOG: waits for the job to leave the queue for good. A requeued job comes
# back PENDING with a begin time some minutes ahead (Slurm's requeue delay, which lets the old steps
# finish cleaning up); this moves it to now once the old step's PMIx socket is gone (earlier, the
# new step cannot bind it).
wait_out_of_queue() {
  local deadline=$(( SECONDS + 90 )) pending_since=-1 state
  while state=$(squeue -h -j "$1" -o '%T %r' 2>/dev/null) && [[ -n $state ]]; do
    (( SECONDS < deadline )) || fail "job $1 still queued after 90 s: $(squeue -j "$1"; cat "$2")"
    if [[ $state == "PENDING BeginTime" ]]; then
      (( pending_since >= 0 )) || pending_since=$SECONDS
      if ! compgen -G "$SEQMEND_SLURM_DIR/spool/stepd.slurm.pmix.$1.*" >/dev/null && (( SECONDS - pending_since >= 1 )); then
        scontrol update JobId="$1" StartTime=now || true
      fi
    fi
    sleep 0.5
  done
}

ensure_cluster

cd "$WORK" || fail "cannot enter $WORK"
"$BIN" simulate --config "$ROOT/experiments/configs/simulate.yaml" --out "$WORK/data" simulator.num_users=120 \
  simulator.num_items=80 simulator.num_clusters=4 simulator.length_min=6 simulator.length_max=40 \
  simulator.length_median=15 max_events_per_shard=600 write_clean=false fsync=false threads=1 >simulate.log 2>&1 ||
  fail "simulate failed: $(cat simulate.log)"
# The tiny test config with 160 steps, an evaluation every 40 and a checkpoint every 20 steps.
cat "$ROOT/experiments/configs/pretrain_tiny.yaml" >tiny.yaml
cat >>tiny.yaml <<EOF
data_dir: $WORK/data
run_dir: .
checkpoint:
  every: 20
  keep: 2
EOF
sed -i -e 's/^max_steps: .*/max_steps: 160/' -e 's/^eval_every: .*/eval_every: 40/' tiny.yaml

# ---- (a) srun -n 2 --mpi=pmix seqmend pretrain ----
mkdir -p "$WORK/srun" && cd "$WORK/srun" || fail "mkdir"
t0=$SECONDS
timeout -k 5 120 srun -n 2 --mpi=pmix "$BIN" pretrain --config "$WORK/tiny.yaml" >srun.log 2>&1
rc=$?
(( rc != 124 )) || fail "srun pretrain hung (killed after 120 s): $(tail -20 srun.log)"
(( rc == 0 )) || fail "srun pretrain exited $rc: $(tail -20 srun.log)"
$PY -c 'import json,sys; r=json.load(open("results.json")); sys.exit(0 if r["world_size"]==2 and r["steps"]==160 else 1)' ||
  fail "results.json: expected world_size 2 and 160 steps: $(cat results.json)"
echo "PASS (a): srun -n 2 --mpi=pmix seqmend pretrain: 160 steps as one world of 2 in $(( SECONDS - t0 ))s"

# ---- (b) sbatch, USR1, exit 75, requeue, resume ----
cd "$WORK" && mkdir -p runs || fail "mkdir runs"
t0=$SECONDS
RUN=$WORK/sbatch-run
job=$(RUN_DIR=$RUN SEQMEND=$BIN sbatch --parsable -n 2 --ntasks-per-node=2 --cpus-per-task=1 \
        "$ROOT/slurm/pretrain-cpu.sbatch" "$WORK/tiny.yaml") || fail "sbatch failed"
job=${job%%;*}
echo "submitted job $job"
deadline=$(( SECONDS + 60 ))
until [[ -e $RUN/ckpt-000040.h5 ]]; do
  (( SECONDS < deadline )) || fail "no checkpoint 40 after 60 s: $(cat "$RUN/job.log" 2>/dev/null)"
  sleep 0.05
done
scancel --signal=USR1 "$job" || fail "scancel --signal=USR1 $job failed"
wait_out_of_queue "$job" "$RUN/job.log"
log=$(cat "$RUN/job.log")
echo "$log" | grep -E '^== |resumed|stop signal|checkpoint' | grep -v '^\[' | head -20
grep -q "stopped before the time limit with a checkpoint; requeueing" <<<"$log" || fail "the job did not exit 75 and requeue"
grep -q "(restart 1)" <<<"$log" || fail "no second start of the job after the requeue"
grep -q "0: pretrain: resumed from ./ckpt-" <<<"$log" || fail "the requeued job did not resume from a checkpoint"
grep -q "finished with exit code 0" <<<"$log" || fail "the requeued job did not finish with exit code 0"

# Same losses and results as the uninterrupted 2-rank run, bit for bit (JSON numbers round-trip).
$PY - "$WORK/srun" "$RUN" <<'PY' || fail "the requeued run's metrics differ from the uninterrupted run"
import json, sys
def records(run):
    out = []
    for line in open(run + "/metrics.jsonl"):
        j = json.loads(line)
        for k in ("tokens_per_s", "step_s", "comm_share", "comm_wait_share"):
            j.pop(k, None)
        out.append(json.dumps(j, sort_keys=True))
    return out
a, b = records(sys.argv[1]), records(sys.argv[2])
if a != b:
    print(f"{len(a)} vs {len(b)} records; first difference:",
          next(((x, y) for x, y in zip(a, b) if x != y), None), file=sys.stderr)
    sys.exit(1)
ra = json.load(open(sys.argv[1] + "/results.json"))
rb = json.load(open(sys.argv[2] + "/results.json"))
for k in ("valid", "test", "best_step", "tokens"):
    if ra[k] != rb[k]:
        print(f"results.json {k}: {ra[k]} vs {rb[k]}", file=sys.stderr)
        sys.exit(1)
print(f"{len(a)} metrics records and results identical")
PY
job=""
echo "PASS (b): USR1 -> checkpoint, exit 75, requeue, resume: same losses as the uninterrupted run ($(( SECONDS - t0 ))s)"

# ---- (c) the pipeline: sbatch, USR1 in pretraining, exit 75, requeue, resumed stage ----
t0=$SECONDS
PIPE=$WORK/pipeline-run
cat >pipeline.yaml <<EOF
run_dir: $PIPE
data: simulate
simulate:
  simulator: {seed: 5, num_users: 80, num_items: 60, num_clusters: 4, length_min: 8, length_max: 20, length_median: 12}
  inject: {noise_rate: 0.05, drop_rate: 0.03, bot_rate: 0.05, protect_last: 2}
  fsync: false
pretrain: {model: {max_len: 16, d_model: 16, num_layers: 1, num_heads: 2}, global_batch_size: 16, max_steps: 300,
           eval_every: 100, log_every: 10, threads: 1}
finetune: {global_batch_size: 16, max_steps: 20, threads: 1}
detect: {surprisal_passes: 2, threads: 1}
repair: {repair: {protect_last: 2}}
evaluate: {}
EOF
job=$(SEQMEND=$BIN sbatch --parsable -n 2 --ntasks-per-node=2 --cpus-per-task=1 \
        "$ROOT/slurm/pipeline-cpu.sbatch" "$WORK/pipeline.yaml" --stop-after detect) || fail "sbatch pipeline failed"
job=${job%%;*}
LOG=$WORK/runs/seqmend-pipeline-cpu-$job.out
deadline=$(( SECONDS + 60 ))
until grep -qs '"loss"' "$PIPE/pretrain/run/metrics.jsonl"; do
  (( SECONDS < deadline )) || fail "no pretraining step after 60 s: $(cat "$LOG" 2>/dev/null)"
  sleep 0.05
done
scancel --signal=USR1 "$job" || fail "scancel --signal=USR1 $job failed"
wait_out_of_queue "$job" "$LOG"
log=$(cat "$LOG")
echo "$log" | grep -E '^== |0: run: ' | head -30
grep -q "0: run: pretrain stopped by a signal" <<<"$log" || fail "pretraining was not stopped by the signal"
grep -q "stopped before the time limit; requeueing" <<<"$log" || fail "the pipeline job did not exit 75 and requeue"
grep -q "(restart 1)" <<<"$log" || fail "no second start of the pipeline job"
grep -q "0: run: data     unchanged" <<<"$log" || fail "the requeued job did not skip the finished data stage"
grep -q "0: run: pretrain resuming" <<<"$log" || fail "the requeued job did not resume the stopped stage"
grep -q "0: pretrain: resumed from $PIPE/pretrain/run/ckpt-" <<<"$log" || fail "pretraining did not resume from its checkpoint"
grep -q "finished with exit code 0" <<<"$log" || fail "the requeued pipeline did not finish"
[[ -f $PIPE/detect/done.json ]] || fail "the requeued pipeline did not reach the end of detect"
job=""
echo "PASS (c): pipeline USR1 -> exit 75, requeue, data skipped, pretraining resumed, on to detect ($(( SECONDS - t0 ))s)"
