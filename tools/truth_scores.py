#!/usr/bin/python3
"""Perfect detection, for a ceiling: rewrites a `seqmend detect` scores.h5 so that its scores are a
log's hidden truth — event score 1 on inserted or substituted events (labels 1-3, 5-7), gap score 1
on events after a deletion (label 4), sequence score 1 on bot sequences — with thresholds 0.5 and an
expected precision of 1 per head. `seqmend repair` on such files makes exactly the edits a perfect
detector would allow, so the recommender trained on its output shows what repair can recover at best
(deletion alone: `--gaps off`; the backfilled items still come from the encoder's predictions).

  tools/truth_scores.py RUN/detect/train/scores.h5 RUN/data/set.truth OUT/train/scores.h5

The truth set must be the labelled copy of the set the scores were computed on (the same split,
users and events); the script checks the users and items match and exits non-zero otherwise.
"""
import argparse
import os
import sys

import h5py
import numpy as np

from shard_set import AFTER_DELETION, BOTS, INSERTED, manifest, read_split


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scores", help="scores.h5 from seqmend detect")
    ap.add_argument("truth_dir", help="the labelled copy of the scored set (data/set.truth)")
    ap.add_argument("out", help="scores.h5 to write")
    ap.add_argument("--events", choices=("on", "off"), default="on", help="flag the inserted events")
    ap.add_argument("--gaps", choices=("on", "off"), default="on", help="flag the events after a deletion")
    args = ap.parse_args()

    with h5py.File(args.scores, "r") as s:
        split = s.attrs["split"]
        split = split.decode() if isinstance(split, bytes) else str(split)
        users, items = s["user"][:], s["item"][:]
        offsets = s["offsets"][:]
    if "label" not in manifest(args.truth_dir)["columns"]:
        sys.exit(f"{args.truth_dir}: the set has no label column: not a truth set")
    t = read_split(args.truth_dir, split)
    t_users, t_items, labels = t["user"], t["item"], t["label"]
    seq_labels = t.get("seq_label", np.zeros(len(t_users), np.int8))
    if not (np.array_equal(users, t_users) and np.array_equal(items, t_items)):
        sys.exit(f"{args.truth_dir}: split '{split}' does not hold the users and items of {args.scores}")

    event = np.isin(labels, INSERTED).astype(np.float32) * (args.events == "on")
    gap = (labels == AFTER_DELETION).astype(np.float32) * (args.gaps == "on")
    sequence = np.isin(seq_labels, BOTS).astype(np.float32)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with h5py.File(args.scores, "r") as s, h5py.File(tmp, "w") as o:
        for name in s:
            if name not in ("event_score", "gap_score", "sequence_score"):
                o.create_dataset(name, data=s[name][:])
        o.create_dataset("event_score", data=event)
        o.create_dataset("gap_score", data=gap)
        o.create_dataset("sequence_score", data=sequence)
        for k, v in s.attrs.items():
            o.attrs[k] = v
        for head in ("event", "gap", "sequence"):
            o.attrs[f"threshold_{head}"] = np.array([0.5])
            o.attrs[f"expected_precision_{head}"] = np.array([1.0])
        o.attrs["truth"] = np.bytes_(os.path.abspath(args.truth_dir))
    os.replace(tmp, args.out)
    print(f"{args.out}: split {split}, {len(offsets) - 1} sequences, {int(event.sum())} events flagged, "
          f"{int(gap.sum())} gaps flagged")


if __name__ == "__main__":
    main()
