#!/usr/bin/python3
"""How far could the detector go with the truth in hand? Takes a `seqmend run` directory stopped at
or after detect, fine-tunes the same detector (the run's resolved finetune config: encoder, heads,
score fusion, budget) on the hidden truth of half its users (labels: stored, on every other user of
data/set.truth), scores the train split of all users, and prints the ROC-AUC of the event and gap
heads on the other half — users whose truth it never saw — beside the run's own detector (trained
on injected anomalies only) on the same users. Held-out figures of a detector trained on the very
labels it is graded on bound what self-supervision can reach with this encoder and these features;
the in-sample half shows how much of the rest fitting alone could add. The precision of the top
1 % of gap scores says whether any gap could be backfilled under a precision floor.

  tools/supervised_ceiling.py RUN_DIR [--seqmend build/experiments/seqmend] [--np 2] [--out DIR]
                              [--max-steps N] [--set KEY=VALUE ...]

Writes OUT/ceiling.json (default RUN_DIR/supervised_ceiling) with the figures and the commands.
A run whose data/set holds labels itself (simulated data) is its own truth.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import zlib

import h5py
import numpy as np

from gap_timing_ceiling import auc_with_ties
from shard_set import AFTER_DELETION, INSERTED, manifest, read_split


def auc(score, positive):
    """ROC-AUC of score for the positive events; None where one class is missing."""
    if not 0 < positive.sum() < len(positive):
        return None
    return float(auc_with_ties(score[positive], score[~positive]))


def precision_at_top(score, positive, share):
    """Precision of the highest-scored `share` of the events (at least one): how precise the surest
    flags are, which is what a precision floor on an edit asks of them."""
    k = max(1, int(len(score) * share))
    return float(positive[np.argsort(-score, kind="stable")[:k]].mean())


def crc32_of(path):
    with open(path, "rb") as f:
        return zlib.crc32(f.read()) & 0xFFFFFFFF


def write_subset(truth_dir, out_dir, keep_user):
    """The truth set with only the users keep_user(u) says, one shard per split, in io/FORMAT.md."""
    m = manifest(truth_dir)
    os.makedirs(out_dir)
    total_events = total_seqs = 0
    for split in list(m["splits"]):
        d = read_split(truth_dir, split)
        keep = np.array([keep_user(int(u)) for u in d["user"]], dtype=bool)
        lengths = np.diff(d["offsets"])
        event_keep = np.repeat(keep, lengths)
        name = f"{split}-00000.h5"
        path = os.path.join(out_dir, name)
        with h5py.File(path, "w") as o:
            new_lengths = lengths[keep]
            o.create_dataset("offsets", data=np.concatenate([[0], np.cumsum(new_lengths)]).astype(np.int64))
            for c, x in d.items():
                if c != "offsets":
                    o.create_dataset(c, data=x[keep] if c in ("user", "seq_label") else x[event_keep])
            o.attrs["format"] = "seqmend-shard"
            o.attrs["format_version"] = np.int64(1)
            o.attrs["split"] = split
            o.attrs["shard_index"] = np.int64(0)
            o.attrs["num_sequences"] = np.int64(keep.sum())
            o.attrs["num_events"] = np.int64(new_lengths.sum())
            o.attrs["num_items"] = np.int64(m["num_items"])
        events, seqs = int(new_lengths.sum()), int(keep.sum())
        m["splits"][split].update({"events": events, "sequences": seqs, "shards": [
            {"file": name, "events": events, "sequences": seqs, "bytes": os.path.getsize(path),
             "crc32": crc32_of(path)}]})
        total_events += events
        total_seqs += seqs
    # The user table and item counts stay the whole set's: user ids index the table, and injected
    # popularity noise draws from the same catalogue as the run's own fine-tuning did.
    m["num_events"], m["num_sequences"] = total_events, total_seqs
    m["source"] = f"every other user of {truth_dir} (supervised ceiling)"
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(m, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--seqmend", default="build/experiments/seqmend")
    ap.add_argument("--np", type=int, default=1, help="MPI ranks (mpirun -np; 1 runs without mpirun)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--max-steps", type=int, default=0, help="fine-tuning steps (0: the run's)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a finetune setting changed for the supervised detector (e.g. detector.heads.hidden=256)")
    args = ap.parse_args()

    run = os.path.abspath(args.run_dir)
    truth = os.path.join(run, "data", "set.truth")
    if not os.path.isdir(truth):
        truth = os.path.join(run, "data", "set")
    if "label" not in manifest(truth)["columns"]:
        sys.exit(f"{run}: neither data/set.truth nor data/set holds labels")
    own_scores = os.path.join(run, "detect", "train", "scores.h5")
    ft_config = os.path.join(run, "finetune", "run", "config.yaml")
    for p in (own_scores, ft_config):
        if not os.path.isfile(p):
            sys.exit(f"{p}: missing; run the pipeline to its detect stage first")
    out = os.path.abspath(args.out or os.path.join(run, "supervised_ceiling"))
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)

    subset = os.path.join(out, "half")
    write_subset(truth, subset, lambda u: u % 2 == 0)
    launch = ["mpirun", "-np", str(args.np)] if args.np > 1 else []
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    finetune = launch + [args.seqmend, "finetune", "--config", ft_config, f"data_dir={subset}",
                         f"run_dir={out}/finetune", "labels=stored", "calibrate_on_canaries=false",
                         "valid_split=valid", "overwrite=true", "resume=false"]
    if args.max_steps:
        finetune += [f"max_steps={args.max_steps}", f"optim.total_steps={args.max_steps}"]
    finetune += args.set
    detect = launch + [args.seqmend, "detect", f"data_dir={truth}", "split=train",
                       f"detector_checkpoint={out}/finetune", f"run_dir={out}/detect", "write_csv=false"]
    for cmd in (finetune, detect):
        print("+", " ".join(cmd), flush=True)
        r = subprocess.run(cmd, env=env)
        if r.returncode != 0:
            sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}")

    d = read_split(truth, "train")
    held = np.repeat(d["user"] % 2 == 1, np.diff(d["offsets"]))
    inserted, gap = np.isin(d["label"], INSERTED), d["label"] == AFTER_DELETION
    figures = {}
    for name, path in (("supervised", os.path.join(out, "detect", "scores.h5")), ("run", own_scores)):
        with h5py.File(path, "r") as h:
            if not np.array_equal(h["item"][:], d["item"]):
                sys.exit(f"{path}: does not score the truth set's train split")
            e, g = h["event_score"][:], h["gap_score"][:]
        for part, mask in (("held_out", held), ("in_sample", ~held)):
            figures[f"{name}/{part}"] = {"event_roc_auc": auc(e[mask], inserted[mask]),
                                         "gap_roc_auc": auc(g[mask], gap[mask]),
                                         "gap_precision_top_1pct": precision_at_top(g[mask], gap[mask], 0.01),
                                         "events": int(mask.sum()), "gaps": int(gap[mask].sum())}
    result = {"run_dir": run, "truth": truth, "split": "train", "trained_on": "users with even id", "set": args.set,
              "figures": figures, "commands": [" ".join(finetune), " ".join(detect)]}
    with open(os.path.join(out, "ceiling.json"), "w") as f:
        json.dump(result, f, indent=1)
    fmt = lambda x: "—" if x is None else f"{x:.4f}"
    print(f"{'detector':12s} {'users':10s} {'event ROC-AUC':>14s} {'gap ROC-AUC':>12s} {'gap precision, top 1 %':>23s}")
    for k, v in figures.items():
        who, part = k.split("/")
        print(f"{who:12s} {part:10s} {fmt(v['event_roc_auc']):>14s} {fmt(v['gap_roc_auc']):>12s} "
              f"{fmt(v['gap_precision_top_1pct']):>23s}")
    print(json.dumps({"supervised_ceiling": figures}))


if __name__ == "__main__":
    main()
