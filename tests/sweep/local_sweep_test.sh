#!/usr/bin/env bash
# local_sweep_test.sh SEQMEND_BINARY — `seqmend sweep` end to end on this machine, on the tiny test
# config (experiments/configs/pretrain_tiny.yaml) over a tiny simulated set, 4 points (d_model × 2 seeds):
#  (a) an uninterrupted sweep, 2 points at a time: every point done, results.csv/results.md/plots;
#  (b) the same sweep interrupted with Ctrl-C (SIGINT to the sweep) once a point has a checkpoint:
#      exit 130, the running points stopped with a checkpoint, nothing marked done that is not;
#  (c) the same command again: the stopped points resume from their checkpoints, the others start,
#      and the table equals (a)'s (timing columns aside), the resumed points' losses bit for bit;
#  (d) once more: nothing runs.
# Exit 0 pass, 1 fail.
set -uo pipefail

BIN=$(realpath "${1:?usage: local_sweep_test.sh path/to/seqmend}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/seqmend-local-sweep.XXXXXX")
pid=""
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
  [[ -n ${SEQMEND_KEEP_TEST_DIR:-} ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
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
  max_steps: 300
  eval_every: 100
  log_every: 10
  checkpoint.every: 20
grid:
  model.d_model: [8, 16]
seeds: [1, 2]
YAML

# ---- (a) uninterrupted ----
t0=$SECONDS
timeout -k 5 300 "$BIN" sweep sweep.yaml --out ref --jobs 2 >ref.log 2>&1 || fail "sweep exited $?: $(tail -30 ref.log)"
grep -q "4 done, 0 failed, 0 not finished" ref.log || fail "not every point finished: $(tail -20 ref.log)"
for f in results.csv results_by_config.csv results.md sweep.json; do [[ -s ref/$f ]] || fail "ref/$f missing"; done
if $PY -c 'import matplotlib' 2>/dev/null; then
  for p in metric_vs_params metric_vs_flops loss_curves; do [[ -s ref/plots/$p.png ]] || fail "ref/plots/$p.png missing"; done
fi
echo "PASS (a): 4 points, 2 at a time, in $(( SECONDS - t0 ))s"

# ---- (b) Ctrl-C once a point has a checkpoint ----
t0=$SECONDS
"$BIN" sweep sweep.yaml --out run --jobs 2 >run1.log 2>&1 &
pid=$!
deadline=$(( SECONDS + 120 ))
until compgen -G "run/*/ckpt-000040.h5" >/dev/null; do
  (( SECONDS < deadline )) || fail "no checkpoint after 120 s: $(cat run1.log)"
  kill -0 "$pid" 2>/dev/null || fail "the sweep ended before it could be interrupted: $(cat run1.log)"
  sleep 0.02
done
kill -INT "$pid"
wait "$pid"
rc=$?
pid=""
(( rc == 130 )) || fail "an interrupted sweep exits 130, got $rc: $(tail -20 run1.log)"
grep -q "interrupted; run the same command again to resume" run1.log || fail "no resume hint: $(tail run1.log)"
stopped=$($PY - run <<'PY'
import json, os, sys
n = 0
for p in sorted(os.listdir(sys.argv[1])):
    f = os.path.join(sys.argv[1], p, "point.json")
    if os.path.isfile(f):
        st = json.load(open(f))["state"]
        assert st in ("stopped", "done"), (p, st)
        n += st == "stopped"
print(n)
PY
) || fail "a point of the interrupted sweep is neither stopped nor done"
(( stopped >= 1 )) || fail "no point was stopped by the interrupt"
echo "PASS (b): Ctrl-C after $(( SECONDS - t0 ))s: exit 130, $stopped point(s) stopped with a checkpoint"

# ---- (c) the same command resumes ----
timeout -k 5 300 "$BIN" sweep sweep.yaml --out run --jobs 2 >run2.log 2>&1 || fail "resumed sweep exited $?: $(tail -30 run2.log)"
grep -q "run (stopped)" run2.log || fail "the stopped points were not planned for a resume: $(head -10 run2.log)"
grep -q "resuming" run/*/sweep.log || fail "no point resumed"
grep -q "pretrain: resumed from" run/*/sweep.log || fail "no point restored a checkpoint"
$PY - ref run <<'PY' || fail "the resumed sweep's table differs from the uninterrupted one"
import csv, json, os, sys
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
def losses(d, p):
    out = []
    for line in open(os.path.join(d, p, "metrics.jsonl")):
        j = json.loads(line)
        if "loss" in j:
            out.append((j["step"], j["loss"]))
    return out
for p in os.listdir(sys.argv[1]):
    if os.path.isfile(os.path.join(sys.argv[1], p, "metrics.jsonl")) and losses(sys.argv[1], p) != losses(sys.argv[2], p):
        print(f"{p}: losses differ", file=sys.stderr)
        sys.exit(1)
print(f"{len(a)} rows equal, losses equal")
PY
echo "PASS (c): resumed; table and losses equal the uninterrupted sweep's"

# ---- (d) nothing left ----
"$BIN" sweep sweep.yaml --out run >run3.log 2>&1 || fail "third run exited $?"
grep -q "nothing to run" run3.log || fail "a finished sweep ran points again: $(cat run3.log)"
echo "PASS (d): a finished sweep runs nothing"
