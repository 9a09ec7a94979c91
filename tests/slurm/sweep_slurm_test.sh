#!/usr/bin/env bash
# sweep_slurm_test.sh SEQMEND_BINARY — `seqmend sweep --slurm` under a real (one-node) Slurm: a
# 4-point sweep (d_model × 2 seeds) of the tiny test config as a job array, 2 tasks at a time, each
# task a world of 2 ranks (srun --mpi=pmix inside slurm/sweep-array.sbatch). Once point 0 has
# checkpoint 40, `scancel --signal=USR1` (what `#SBATCH --signal` does before the time limit) stops
# that task: it checkpoints, exits 75, the script requeues it and it resumes. The collected table
# equals the same sweep run locally with `--ranks 2` (timing columns aside).
# Exit 0 pass, 1 fail, 77 skipped (Slurm cannot be installed or run here: ctest SKIP_RETURN_CODE).
set -uo pipefail

BIN=$(realpath "${1:?usage: sweep_slurm_test.sh path/to/seqmend}")
PY=/usr/bin/python3

fail() {
  echo "FAIL: $*" >&2
  for f in "${WORK:-/nonexistent}"/slurm/logs/*.out; do
    [[ -f $f ]] && { echo "--- tail of $f:" >&2; tail -12 "$f" >&2; }
  done
  exit 1
}
source "$(dirname "$0")/cluster.sh"
[[ -x $BIN ]] || fail "$BIN is not built"
slurm_test_prelude

WORK=$(mktemp -d "${TMPDIR:-/tmp}/seqmend-slurm-sweep.XXXXXX")
job=""
cleanup() {
  [[ -n $job ]] && scancel "$job" 2>/dev/null
  if (( started_here )); then "$CLUSTER" stop || echo "WARNING: stopping the local cluster failed" >&2; fi
  [[ -n ${SEQMEND_KEEP_TEST_DIR:-} ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ensure_cluster
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cd "$WORK" || fail "cannot enter $WORK"
"$BIN" simulate --config "$ROOT/experiments/configs/simulate.yaml" --out "$WORK/data" simulator.num_users=120 \
  simulator.num_items=80 simulator.num_clusters=4 simulator.length_min=6 simulator.length_max=40 \
  simulator.length_median=15 max_events_per_shard=600 write_clean=false fsync=false threads=1 >simulate.log 2>&1 ||
  fail "simulate failed: $(cat simulate.log)"
cat >sweep.yaml <<YAML
base: $ROOT/experiments/configs/pretrain_tiny.yaml
set:
  data_dir: $WORK/data
  max_steps: 160
  eval_every: 40
  checkpoint.every: 20
  checkpoint.keep: 2
grid:
  model.d_model: [8, 16]
seeds: [1, 2]
YAML

# ---- the local reference: 2 ranks per point under mpirun ----
t0=$SECONDS
timeout -k 5 240 "$BIN" sweep sweep.yaml --out local --jobs 2 --ranks 2 >local.log 2>&1 ||
  fail "local sweep exited $?: $(tail -30 local.log)"
grep -q "4 done, 0 failed" local.log || fail "local sweep: $(tail -10 local.log)"
echo "PASS (a): the local sweep, 4 points x 2 ranks, in $(( SECONDS - t0 ))s"

# ---- the same sweep as a job array; point 0 preempted with USR1 ----
t0=$SECONDS
"$BIN" sweep sweep.yaml --out slurm --slurm --array-parallel 2 --ntasks-per-node=2 --cpus-per-task=1 \
  --time=0:10:00 >submit.log 2>&1 || fail "sweep --slurm exited $?: $(cat submit.log)"
job=$(sed -n 's/^sweep: submitted job \([0-9]*\):.*/\1/p' submit.log)
[[ -n $job ]] || fail "no job id in: $(cat submit.log)"
grep -q "#SBATCH --array=0-3%2" slurm/sweep.sbatch || fail "sweep.sbatch has no 4-task array: $(grep SBATCH slurm/sweep.sbatch)"
echo "submitted job $job"
point0="slurm/d_model=8,seed=1"
deadline=$(( SECONDS + 90 ))
until [[ -e $point0/ckpt-000040.h5 ]]; do
  (( SECONDS < deadline )) || fail "no checkpoint 40 of point 0 after 90 s: $(squeue -j "$job")"
  sleep 0.05
done
# scancel delivers the signal to an array task's ranks, then keeps retrying "Job can not be altered
# now" for a minute and a half: it runs in the background and is ended once the task has stopped
# (before the requeued task starts, which must not get the signal again).
scancel --signal=USR1 "${job}_0" 2>/dev/null &
scancel_pid=$!
deadline=$(( SECONDS + 30 ))
until grep -q "stop signal" "slurm/logs/${job}_0.out" 2>/dev/null; do
  (( SECONDS < deadline )) || fail "task 0 did not stop on SIGUSR1 within 30 s"
  sleep 0.1
done
kill "$scancel_pid" 2>/dev/null
wait "$scancel_pid" 2>/dev/null
# Wait for the whole array to leave the queue. The requeued task comes back PENDING with a begin
# time minutes ahead (Slurm's requeue delay); it is moved to now once its old step's PMIx socket
# is gone (earlier, the new step could not bind it), as pretrain_slurm_test.sh does.
deadline=$(( SECONDS + 180 ))
pending_since=-1
while tasks=$(squeue -h -r -j "$job" -o '%i %A %T %r' 2>/dev/null) && [[ -n $tasks ]]; do
  (( SECONDS < deadline )) || fail "job $job still queued after 180 s: $tasks"
  while read -r id jobid state reason; do
    if [[ $state == PENDING && $reason == BeginTime ]]; then
      (( pending_since >= 0 )) || pending_since=$SECONDS
      if ! compgen -G "$SEQMEND_SLURM_DIR/spool/stepd.slurm.pmix.$jobid.*" >/dev/null && (( SECONDS - pending_since >= 1 )); then
        scontrol update JobId="$id" StartTime=now 2>/dev/null || true
      fi
    fi
  done <<<"$tasks"
  sleep 0.5
done
log0=$(cat slurm/logs/"${job}"_0.out 2>/dev/null)
echo "$log0" | grep -E '^== |resumed|stop signal' | head -10
grep -q "stopped before the time limit with a checkpoint; requeueing" <<<"$log0" || fail "task 0 did not exit 75 and requeue"
grep -q "(restart 1)" <<<"$log0" \
  || grep -q "restart 1)" <<<"$log0" || fail "no second start of task 0 after the requeue"
grep -q "0: pretrain: resumed from" <<<"$log0" || fail "the requeued task did not resume from a checkpoint"
for i in 0 1 2 3; do
  grep -q "finished with exit code 0" "slurm/logs/${job}_$i.out" || fail "task $i did not finish with exit code 0"
done
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["state"]=="done" and r["attempts"]==2 and r["world_size"]==2 else 1)' \
  "$point0/point.json" || fail "point 0's record: $(cat "$point0/point.json")"
"$BIN" sweep collect slurm --no-plots >collect.log 2>&1 || fail "collect exited $?: $(cat collect.log)"
$PY - local slurm <<'PY' || fail "the Slurm sweep's table differs from the local one"
import csv, os, sys
timing = {"tokens_per_s", "wall_s", "train_s"}
def table(d):
    rows = list(csv.DictReader(open(os.path.join(d, "results.csv"))))
    return [{k: v for k, v in r.items() if k not in timing} for r in rows]
a, b = table(sys.argv[1]), table(sys.argv[2])
if a != b:
    for x, y in zip(a, b):
        if x != y:
            print("first difference:", {k: (x[k], y.get(k)) for k in x if x[k] != y.get(k)}, file=sys.stderr)
            break
    sys.exit(1)
if any(r["state"] != "done" for r in b):
    sys.exit(1)
print(f"{len(a)} rows equal")
PY
job=""
echo "PASS (b): job array of 4 points x 2 ranks, point 0 preempted (USR1, exit 75, requeue, resume);" \
     "the table equals the local one ($(( SECONDS - t0 ))s)"
