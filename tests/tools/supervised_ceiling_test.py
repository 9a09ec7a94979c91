#!/usr/bin/python3
"""tools/supervised_ceiling.py on the smallest pipeline (simulated, labelled data): the half it
trains on must be a valid shard set (tools/read_shard_h5py.py) holding only even users, the held-out
and in-sample figures must cover every train event once, the supervised detector must have learnt
the labels it was given, and a run without its detect stage must be refused by name.

  supervised_ceiling_test.py SOURCE_DIR SEQMEND_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile

SOURCE, SEQMEND = sys.argv[1], sys.argv[2]
TOOL = os.path.join(SOURCE, "tools", "supervised_ceiling.py")
READER = os.path.join(SOURCE, "tools", "read_shard_h5py.py")

PIPELINE = """run_dir: {run}
data: simulate
simulate:
  simulator: {{seed: 5, num_users: 80, num_items: 60, num_clusters: 4, length_min: 8, length_max: 20, length_median: 12}}
  inject: {{noise_rate: 0.05, drop_rate: 0.03, bot_rate: 0.05, protect_last: 2}}
  fsync: false
pretrain:
  model: {{max_len: 16, d_model: 16, num_layers: 1, num_heads: 2}}
  global_batch_size: 16
  max_steps: 8
  eval_every: 4
  threads: 1
finetune: {{global_batch_size: 16, max_steps: 4, threads: 1}}
detect: {{surprisal_passes: 2, threads: 1}}
"""


def sh(*args):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return subprocess.run(list(args), capture_output=True, text=True, env=env)


def main():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        run = os.path.join(d, "run")
        cfg = os.path.join(d, "pipeline.yaml")
        with open(cfg, "w") as f:
            f.write(PIPELINE.format(run=run))
        r = sh(SEQMEND, "run", cfg, "--stop-after", "finetune")
        if r.returncode != 0:
            sys.exit(f"seqmend run failed:\n{r.stdout}{r.stderr}")
        r = sh(sys.executable, TOOL, run, "--seqmend", SEQMEND, "--max-steps", "40")
        if r.returncode == 0 or "detect/train/scores.h5: missing" not in r.stderr:
            failures.append(f"a run without detect was taken: rc {r.returncode}, {r.stderr.strip()}")

        r = sh(SEQMEND, "run", cfg, "--stop-after", "detect")
        if r.returncode != 0:
            sys.exit(f"seqmend run failed:\n{r.stdout}{r.stderr}")
        r = sh(sys.executable, TOOL, run, "--seqmend", SEQMEND, "--max-steps", "40")
        if r.returncode != 0:
            sys.exit(f"the tool failed:\n{r.stdout}{r.stderr}")
        print(r.stdout[-800:])
        out = os.path.join(run, "supervised_ceiling")

        half = subprocess.run([sys.executable, READER, os.path.join(out, "half")], capture_output=True, text=True)
        if half.returncode != 0:
            failures.append(f"the half it trains on is not a valid shard set: {half.stderr.strip()}")
        users = {int(line.split()[3].split("=")[1].split(":")[0]) for line in half.stdout.splitlines()
                 if line.startswith(("train ", "valid ", "test "))}
        if not users or any(u % 2 for u in users):
            failures.append(f"the half holds users other than the even ones: {sorted(users)[:10]}")

        with open(os.path.join(out, "ceiling.json")) as f:
            c = json.load(f)
        with open(os.path.join(run, "data", "set", "manifest.json")) as f:
            train_events = json.load(f)["splits"]["train"]["events"]
        figures = c["figures"]
        for who in ("supervised", "run"):
            covered = figures[f"{who}/held_out"]["events"] + figures[f"{who}/in_sample"]["events"]
            if covered != train_events:
                failures.append(f"{who}: the two halves cover {covered} events, the train split has {train_events}")
            for part in ("held_out", "in_sample"):
                for k in ("event_roc_auc", "gap_roc_auc", "gap_precision_top_1pct"):
                    x = figures[f"{who}/{part}"][k]
                    if x is not None and not 0.0 <= x <= 1.0:
                        failures.append(f"{who}/{part} {k} = {x}")
        learnt = figures["supervised/in_sample"]["event_roc_auc"]
        if learnt is None or learnt < 0.8:
            failures.append(f"the supervised detector did not learn its own labels: in-sample event ROC-AUC {learnt}")
        if "labels=stored" not in c["commands"][0]:
            failures.append("the fine-tuning did not use the stored labels")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
