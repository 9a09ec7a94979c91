#!/usr/bin/python3
"""tools/truth_scores.py end to end: a small log is ingested and corrupted by the keep/delete/insert
process with its truth hidden, random scores are written in `seqmend detect`'s scores.h5 layout,
the tool turns them into the truth, and `seqmend repair` on the result must give back exactly the
log without its inserted events. The truth of another corruption must be refused.

  truth_scores_test.py SOURCE_DIR SEQMEND_BINARY
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

SOURCE, SEQMEND = sys.argv[1], sys.argv[2]
TOOL = os.path.join(SOURCE, "tools", "truth_scores.py")
sys.path.insert(0, os.path.join(SOURCE, "tools"))
from shard_set import read_split  # noqa: E402
INSERTED = 1
AFTER_DELETION = 4


def sh(*args, ok=True):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run(list(args), capture_output=True, text=True, env=env)
    if ok and r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(args)}\n{r.stdout}{r.stderr}")
    return r


def write_fake_scores(set_dir, split, path, rng):
    """Random scores over the split's events, in the layout seqmend detect writes."""
    s = read_split(set_dir, split, ("user", "item", "offsets"))
    n, users = len(s["item"]), len(s["user"])
    with h5py.File(path, "w") as o:
        o.create_dataset("event_score", data=rng.random(n, dtype=np.float32))
        o.create_dataset("gap_score", data=rng.random(n, dtype=np.float32))
        o.create_dataset("surprisal", data=rng.random(n, dtype=np.float32))
        o.create_dataset("sequence_score", data=rng.random(users, dtype=np.float32))
        o.create_dataset("item", data=s["item"])
        o.create_dataset("user", data=s["user"])
        o.create_dataset("offsets", data=s["offsets"])
        o.attrs["split"] = np.bytes_(split)
        for head in ("event", "gap", "sequence"):
            o.attrs[f"threshold_{head}"] = np.array([0.3])
            o.attrs[f"expected_precision_{head}"] = np.array([0.2])


def main():
    rng = np.random.default_rng(5)
    failures = []
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log.inter")
        with open(log, "w") as f:
            f.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
            for u in range(40):
                items = rng.choice(300, size=40, replace=False)
                for k, i in enumerate(items):
                    f.write(f"{u}\t{i}\t4\t{1000 * u + 10 * k}\n")
        ingested, corrupted = os.path.join(d, "ingested"), os.path.join(d, "corrupted")
        sh(SEQMEND, "ingest", "--format", "recbole", "--input", log, "--out", ingested, "fsync=false")
        corrupt = [SEQMEND, "corrupt", "--input", ingested, "inject.mode=edit", "inject.noise_items=uniform",
                   "inject.bot_rate=0", "inject.protect_last=2", "hide_truth=true", "fsync=false"]
        sh(*corrupt, "--out", corrupted, "seed=1")
        sh(*corrupt, "--out", os.path.join(d, "other"), "seed=2")
        truth = corrupted + ".truth"

        scores = {}
        for split in ("train", "valid", "test"):
            fake = os.path.join(d, f"fake-{split}.h5")
            write_fake_scores(corrupted, split, fake, rng)
            scores[split] = os.path.join(d, "truth-scores", split, "scores.h5")
            r = sh(sys.executable, TOOL, fake, truth, scores[split])
            labels = read_split(truth, split, ("label",))["label"]
            with h5py.File(scores[split], "r") as h:
                if not np.array_equal(h["event_score"][:] > 0.5, labels == INSERTED):
                    failures.append(f"{split}: event scores are not the inserted events")
                if not np.array_equal(h["gap_score"][:] > 0.5, labels == AFTER_DELETION):
                    failures.append(f"{split}: gap scores are not the events after a deletion")
                if h.attrs["expected_precision_event"][0] != 1.0 or h.attrs["threshold_gap"][0] != 0.5:
                    failures.append(f"{split}: thresholds or expected precisions are not the truth's")
            if (labels == INSERTED).sum() == 0 or (labels == AFTER_DELETION).sum() == 0:
                failures.append(f"{split}: the corruption made no insertion or no deletion; the test shows nothing")
            print(r.stdout.strip())

        repaired = os.path.join(d, "repaired")
        sh(SEQMEND, "repair", f"data_dir={corrupted}", f"out_dir={repaired}", f"scores_train={scores['train']}",
           f"scores_valid={scores['valid']}", f"scores_test={scores['test']}", "predictor=none",
           "repair.replace=false", "repair.backfill=false", "repair.quarantine=false", "repair.protect_last=0",
           "repair.min_expected_precision=0.8", "fsync=false")
        for split in ("train", "valid", "test"):
            t = read_split(truth, split, ("item", "label"))
            want = t["item"][t["label"] != INSERTED]
            got = read_split(repaired, split, ("item",))["item"]
            if not np.array_equal(got, want):
                failures.append(f"{split}: repair on the truth's scores kept {len(got)} events, want the "
                                f"{len(want)} that were not inserted")

        r = sh(sys.executable, TOOL, os.path.join(d, "fake-train.h5"), os.path.join(d, "other.truth"),
               os.path.join(d, "mismatch.h5"), ok=False)
        if r.returncode == 0 or "does not hold the users and items" not in r.stderr:
            failures.append(f"another corruption's truth was taken: rc {r.returncode}, {r.stderr.strip()}")
        if os.path.exists(os.path.join(d, "mismatch.h5")):
            failures.append("a refused truth left an output file")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
