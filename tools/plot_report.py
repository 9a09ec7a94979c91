#!/usr/bin/env python3
"""Plots for a `seqmend run` directory (called by the report stage, experiments/cli/report.cpp).

usage: plot_report.py RUN_DIR   → RUN_DIR/plots/*.png
  training_curves.png   loss per step of pretraining, fine-tuning and the evaluate runs
  scores_<head>.png     detector score distributions of normal vs anomalous events (test split),
                        labels from the data's test shards
Exit code 3 when matplotlib (or h5py for the score plots' inputs) is missing, so the report can say so.
"""
import json
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
except ImportError as e:  # the report says plots were skipped
    print(f"plot_report: {e}", file=sys.stderr)
    sys.exit(3)


def read_metrics(path):
    rows = []
    if not os.path.isfile(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line torn by a crash
    return rows


def training_curves(run, out):
    runs = [("pretrain", "pretrain/run"), ("finetune", "finetune/run")]
    for name in ("raw", "repaired", "clean"):
        runs.append((f"evaluate {name}", f"evaluate/run/{name}"))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    drawn = 0
    for label, rel in runs:
        rows = [r for r in read_metrics(os.path.join(run, rel, "metrics.jsonl")) if "loss" in r and "step" in r]
        if rows:
            ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], label=label)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title("Training curves")
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out, "training_curves.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def test_labels(run):
    """Event label codes of the data's test split, in stored order (the order scores.h5 uses)."""
    import h5py
    set_dir = os.path.join(run, "data", "set")
    with open(os.path.join(set_dir, "manifest.json")) as f:
        man = json.load(f)
    codes = {name: int(code) for code, name in man.get("label_codes", {}).items()}  # stored as code → name
    shards = man["splits"]["test"]["shards"]
    parts = []
    for s in shards:
        with h5py.File(os.path.join(set_dir, s["file"]), "r") as h:
            if "label" not in h:
                return None, codes
            parts.append(np.asarray(h["label"][:]))
    return (np.concatenate(parts) if parts else np.zeros(0, np.int8)), codes


def score_plots(run, out):
    scores = os.path.join(run, "detect", "test", "scores.h5")
    if not os.path.isfile(scores):
        return []
    try:
        import h5py
    except ImportError as e:
        print(f"plot_report: {e}", file=sys.stderr)
        sys.exit(3)
    labels, codes = test_labels(run)
    if labels is None:
        return []
    clean = codes.get("clean", 0)
    dropped = codes.get("dropped_before", None)
    made = []
    with h5py.File(scores, "r") as h:
        for head in ("event_score", "gap_score", "surprisal"):
            if head not in h:
                continue
            x = np.asarray(h[head][:], dtype=np.float64)
            if x.shape != labels.shape:
                print(f"plot_report: {head} has {x.shape[0]} values, labels {labels.shape[0]}; skipped", file=sys.stderr)
                continue
            # As the detection metrics count them (experiments/eval/detection_metrics.h): bot events are
            # left out of the event heads, the gap head is dropped_before vs other human events.
            event_bad = [codes[n] for n in ("noise_click", "substitution", "burst_repeat") if n in codes]
            if head == "gap_score" and dropped is not None:
                anomalous = labels == dropped
                normal = np.isin(labels, [clean] + event_bad)
            else:
                anomalous = np.isin(labels, event_bad)
                normal = np.isin(labels, [clean] + ([dropped] if dropped is not None else []))
            fig, ax = plt.subplots(figsize=(7, 4))
            finite = np.isfinite(x)
            bins = np.linspace(np.min(x[finite]), np.max(x[finite]), 50) if finite.any() else 50
            ax.hist(x[normal & finite], bins=bins, alpha=0.6, density=True, label=f"normal ({int(normal.sum())})")
            ax.hist(x[anomalous & finite], bins=bins, alpha=0.6, density=True, label=f"anomalous ({int(anomalous.sum())})")
            ax.set_xlabel(head)
            ax.set_ylabel("density")
            ax.set_title(f"Test split: {head} of normal vs anomalous events")
            ax.legend()
            fig.tight_layout()
            path = os.path.join(out, f"scores_{head}.png")
            fig.savefig(path, dpi=110)
            plt.close(fig)
            made.append(path)
    return made


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    run = sys.argv[1]
    out = os.path.join(run, "plots")
    os.makedirs(out, exist_ok=True)
    made = [p for p in [training_curves(run, out)] if p] + score_plots(run, out)
    for p in made:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
