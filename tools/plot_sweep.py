#!/usr/bin/env python3
"""Scaling plots of a `seqmend sweep` directory (called by `seqmend sweep collect`, experiments/cli/sweep_collect.cpp).

usage: plot_sweep.py SWEEP_DIR   → SWEEP_DIR/plots/*.png, from results.csv, sweep.json and the points' metrics.jsonl
  metric_vs_params.png   valid and test metric (the runs' eval_metric, and hr@10) against parameter count
  metric_vs_flops.png    the same against training FLOPs
                         log x; one panel per varied key: its lines join the configs that differ in that
                         key alone (one line per value of the other keys), markers at the mean over seeds,
                         bars one standard deviation
  loss_curves.png        training loss against step, every point
Exit code 3 when matplotlib is missing, so the caller can say so.
"""
import csv
import json
import math
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as e:
    print(f"plot_sweep: {e}", file=sys.stderr)
    sys.exit(3)


def number(s):
    try:
        x = float(s)
        return x if math.isfinite(x) else None
    except (TypeError, ValueError):
        return None


def read_rows(sweep_dir):
    with open(os.path.join(sweep_dir, "results.csv"), newline="") as f:
        return [r for r in csv.DictReader(f)]


def eval_metric(sweep_dir, rows, pipeline):
    for r in rows:
        sub = os.path.join(r["point"], "pretrain", "run") if pipeline else r["point"]
        path = os.path.join(sweep_dir, sub, "results.json")
        if os.path.isfile(path):
            try:
                with open(path) as f:
                    return json.load(f).get("eval_metric", "ndcg@10")
            except (OSError, json.JSONDecodeError):
                pass
    return "ndcg@10"


def config_means(rows, keys, columns):
    """Per config: its key values and the mean and std of each column over its finished seeds."""
    out = {}
    for r in rows:
        if r.get("state") != "done":
            continue
        c = out.setdefault(r["config"], {"values": {k: r.get(k, "") for k in keys}, "xs": {}})
        for col in columns:
            x = number(r.get(col))
            if x is not None:
                c["xs"].setdefault(col, []).append(x)
    for c in out.values():
        c["mean"], c["std"] = {}, {}
        for col, xs in c["xs"].items():
            m = sum(xs) / len(xs)
            c["mean"][col] = m
            c["std"][col] = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return out


def sort_key(v):
    x = number(v)
    return (0, x, "") if x is not None else (1, 0.0, v)


def scaling_figure(configs, keys, x_col, x_label, metrics, path):
    """One row of panels per metric, one column per varied key."""
    varied = [k for k in keys if len({c["values"][k] for c in configs.values()}) > 1] or keys[:1]
    if not varied or not configs:
        return False
    fig, axes = plt.subplots(len(metrics), len(varied), figsize=(4.8 * len(varied), 3.6 * len(metrics)),
                             squeeze=False)
    drawn = 0
    for mi, metric in enumerate(metrics):
        for ki, key in enumerate(varied):
            ax = axes[mi][ki]
            others = [k for k in keys if k != key]
            lines = {}  # the other keys' values (sortable) → (label, configs)
            for c in configs.values():
                if x_col in c["mean"] and metric in c["mean"]:
                    label = ", ".join(f"{k.split('.')[-1]}={c['values'][k]}" for k in others) or "all"
                    order = tuple(sort_key(c["values"][k]) for k in others)
                    lines.setdefault(order, (label, []))[1].append(c)
            for _, (label, cs) in sorted(lines.items()):
                cs.sort(key=lambda c: sort_key(c["values"][key]))
                xs = [c["mean"][x_col] for c in cs]
                ys = [c["mean"][metric] for c in cs]
                es = [c["std"][metric] for c in cs]
                ax.errorbar(xs, ys, yerr=es, marker="o", capsize=3, label=label)
                for c, x, y in zip(cs, xs, ys):
                    ax.annotate(str(c["values"][key]), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
                drawn += 1
            ax.set_xscale("log")
            ax.set_xlabel(x_label)
            ax.set_ylabel(metric.replace("_", " "))
            ax.set_title(f"varying {key}", fontsize=10)
            if lines:
                ax.legend(fontsize=7)
            ax.grid(True, which="both", alpha=0.3)
    if not drawn:
        plt.close(fig)
        return False
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def loss_curves(sweep_dir, rows, pipeline, path):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    drawn = 0
    for r in rows:
        sub = os.path.join(r["point"], "pretrain", "run") if pipeline else r["point"]
        steps, losses = [], []
        mpath = os.path.join(sweep_dir, sub, "metrics.jsonl")
        if not os.path.isfile(mpath):
            continue
        with open(mpath) as f:
            for line in f:
                try:
                    j = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line torn by a crash
                if "loss" in j and "step" in j:
                    steps.append(j["step"])
                    losses.append(j["loss"])
        if steps:
            ax.plot(steps, losses, label=r["point"], linewidth=1)
            drawn += 1
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.set_title("Training loss of every point")
    if drawn <= 24:
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    sweep_dir = sys.argv[1]
    with open(os.path.join(sweep_dir, "sweep.json")) as f:
        sweep = json.load(f)
    pipeline = sweep.get("kind") == "pipeline"
    keys = sweep.get("keys", [])
    rows = read_rows(sweep_dir)
    metric = eval_metric(sweep_dir, rows, pipeline)
    metrics = [f"valid_{metric}", f"test_{metric}"]
    if metric != "hr@10":
        metrics.append("test_hr@10")
    out = os.path.join(sweep_dir, "plots")
    os.makedirs(out, exist_ok=True)
    configs = config_means(rows, keys, metrics + ["params", "train_flops"])
    made = []
    if scaling_figure(configs, keys, "params", "parameters (log)", metrics, os.path.join(out, "metric_vs_params.png")):
        made.append("metric_vs_params.png")
    if scaling_figure(configs, keys, "train_flops", "training FLOPs (log)", metrics,
                      os.path.join(out, "metric_vs_flops.png")):
        made.append("metric_vs_flops.png")
    if loss_curves(sweep_dir, rows, pipeline, os.path.join(out, "loss_curves.png")):
        made.append("loss_curves.png")
    print("plot_sweep: " + (", ".join(made) if made else "nothing to plot yet"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
