#!/usr/bin/python3
"""How visible is a deleted event in a log's timing? Reads a clean interaction log (RecBole .inter:
user, item, ..., timestamp) and reports, per user, the ROC-AUC of "interval that spans a deleted
run" against "genuine interval", ranking by interval length with the user's own clean intervals
known exactly. Where content carries no trace of a deletion (uniform deletions in a log whose
within-user order is weak), this is about the best a gap detector can reach on the log: a run of k
deleted events merges k + 1 intervals into one, and nothing else changes.

For reference the script prints the same figure for a Poisson process (independent exponential
intervals), where the AUC of k + 1 merged intervals against one is 1 - 2^-(k+1).

  tools/gap_timing_ceiling.py ../shared/data/ml-100k/ml-100k.inter --delete-cascade 0.3 --max-run 3
"""
import argparse
import collections

import numpy as np


def auc_with_ties(pos, neg):
    """P(pos > neg) + P(pos == neg) / 2, from average ranks."""
    values = np.concatenate([pos, neg])
    uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    first = np.cumsum(counts) - counts  # rank (0-based) of each distinct value's first copy
    avg_rank = first + (counts + 1) / 2.0
    ranks = avg_rank[inverse]
    n1, n0 = len(pos), len(neg)
    return (ranks[:n1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0)


def run_weights(cascade, max_run):
    """P(a deleted run has length k), k = 1..max_run, when each further deletion has prob cascade."""
    w = [cascade ** (k - 1) * (1 - cascade) for k in range(1, max_run)] + [cascade ** (max_run - 1)]
    return {k + 1: wk for k, wk in enumerate(w)}


def read_times(path, ts_column):
    times = collections.defaultdict(list)
    with open(path) as f:
        header = f.readline().rstrip("\n").split("\t")
        names = [h.split(":")[0] for h in header]
        if ts_column is None and "timestamp" not in names:
            raise SystemExit(f"{path}:1: no 'timestamp' column in the header ({', '.join(names)}); "
                             "give --timestamp-column")
        col = ts_column if ts_column is not None else names.index("timestamp")
        for line_no, line in enumerate(f, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) <= col:
                raise SystemExit(f"{path}:{line_no}: expected a timestamp in column {col + 1}")
            try:
                times[fields[0]].append(float(fields[col]))
            except ValueError:
                raise SystemExit(f"{path}:{line_no}: timestamp '{fields[col]}' is not a number") from None
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inter", help="clean log, RecBole .inter format with a timestamp column")
    ap.add_argument("--delete-cascade", type=float, default=0.3)
    ap.add_argument("--max-run", type=int, default=3)
    ap.add_argument("--timestamp-column", type=int, default=None, help="0-based; default: the 'timestamp' header")
    args = ap.parse_args()

    weights = run_weights(args.delete_cascade, args.max_run)
    times = read_times(args.inter, args.timestamp_column)
    acc = total = 0.0
    zero = intervals = 0
    for ts in times.values():
        d = np.diff(np.sort(np.asarray(ts)))
        if len(d) < 2 * args.max_run:
            continue
        zero += int((d == 0).sum())
        intervals += len(d)
        for k, wk in weights.items():
            merged = np.convolve(d, np.ones(k + 1), "valid")
            acc += wk * len(d) * auc_with_ties(merged, d)
            total += wk * len(d)
    poisson = sum(wk * (1 - 0.5 ** (k + 1)) for k, wk in weights.items())
    print(f"users {len(times)}, intervals {intervals}, zero-second intervals {zero / intervals:.3f}")
    print("deleted-run lengths: " + ", ".join(f"{k}: {wk:.3f}" for k, wk in weights.items()))
    print(f"gap ROC-AUC from interval length, each user's clean intervals known: {acc / total:.3f}")
    print(f"the same for a Poisson process: {poisson:.3f}")


if __name__ == "__main__":
    main()
