"""A seqmend shard set's split as whole columns, with h5py and numpy only (io/FORMAT.md): for the
tools that grade or rewrite a set offline (truth_scores.py, supervised_ceiling.py)."""
import json
import os

import h5py
import numpy as np

# Label codes of io/FORMAT.md that the ceilings grade: the events a perfect detector deletes (noise
# clicks, substitutions, burst repeats, bots' events), the event after a deleted run, bot sequences.
INSERTED = (1, 2, 3, 5, 6, 7)
AFTER_DELETION = 4
BOTS = (5, 6, 7)


def manifest(set_dir):
    with open(os.path.join(set_dir, "manifest.json")) as f:
        return json.load(f)


def read_split(set_dir, split, columns=None):
    """{column: array} over the split's shards in order; `offsets` made one CSR over them all.
    columns: the datasets to read (None: every one in the shards)."""
    m = manifest(set_dir)
    out = {}
    base = 0
    for shard in m["splits"][split]["shards"]:
        with h5py.File(os.path.join(set_dir, shard["file"]), "r") as h:
            for c in (columns if columns is not None else list(h)):
                x = h[c][:]
                if c == "offsets":
                    x = (x[1:] if c in out else x) + base
                    base = int(x[-1])
                out.setdefault(c, []).append(x)
    return {c: np.concatenate(v) for c, v in out.items()}
