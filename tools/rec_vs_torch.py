#!/usr/bin/python3
"""seqmend's recommender against its PyTorch twin, trained with the same config and budget.

    /usr/bin/python3 tools/rec_vs_torch.py --config experiments/configs/ml100k.yaml --data DIR \
        --binary build/experiments/seqmend --out runs/ml100k-vs-torch [--threads N] [key=value ...]

1. runs `seqmend pretrain` with the config and overrides into OUT/seqmend;
2. reads the resolved config that run wrote (so both engines get the same numbers) and trains the
   twin (tools/torch_twin.py, an ordinary PyTorch model: padded batches, nn.Dropout, torch.optim.AdamW)
   on the same shard set (read with h5py): the same initial weights, steps, global batch, AdamW
   groups, clipping, warmup + schedule, cloze masking rate, last-item and crop shares, evaluation
   cadence, early stopping on the same validation metric, and the test split scored with the best
   parameters. Data order, masks and dropout come from PyTorch's and numpy's generators, so the two
   runs are equally good draws, not the same bits;
3. prints both: valid and test HR@10 / NDCG@10, steps, training seconds, tokens/s; writes
   OUT/compare.json.

Evaluation is the full-ranking protocol of experiments/eval/rec_eval.h with exclude_history false: input =
the sequence without its last event plus a mask token (model.objective causal: without the mask token,
read at the newest event), rank = #items j != target with
NOT(score_j < score_target), HR@K = rank < K, NDCG@K = 1 / log2(rank + 2).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_twin import Bert4RecTwin, Config, init_params, param_layout  # noqa: E402


def read_split(root, split, num_gap_buckets):
    """[(items, gap buckets, actions)] of a split, in shard order."""
    with open(os.path.join(root, "manifest.json")) as f:
        m = json.load(f)
    out = []
    for shard in m["splits"][split]["shards"]:
        with h5py.File(os.path.join(root, shard["file"]), "r") as h:
            off, item = h["offsets"][:], h["item"][:]
            ts = h["timestamp"][:] if "timestamp" in h else None
            act = h["action"][:] if "action" in h else None
        for s in range(len(off) - 1):
            a, b = int(off[s]), int(off[s + 1])
            out.append((item[a:b].astype(np.int64),
                        gap_buckets(None if ts is None else ts[a:b].astype(np.int64), b - a, num_gap_buckets),
                        np.zeros(b - a, np.int64) if act is None else act[a:b].astype(np.int64)))
    return out


def gap_buckets(ts, n, nb):
    """core/batch.cpp time_gap_bucket for every event of one sequence (the first: unknown = 0)."""
    g = np.zeros(n, np.int64)
    if ts is None or nb <= 1 or len(ts) < 2:
        return g
    d = np.diff(ts)
    b = np.where(d <= 0, 1, 2 + np.floor(np.log2(np.maximum(d, 1))).astype(np.int64))
    g[1:] = np.minimum(b, nb - 1)
    return g


def place(rows, s, items, gaps, acts, T, tail):
    """Newest T - tail events of a sequence right-aligned in row s (columns T-keep-tail .. T-tail-1)."""
    keep = min(len(items), T - tail)
    c0 = T - keep - tail
    rows["item"][s, c0:T - tail] = items[len(items) - keep:]
    rows["gap"][s, c0:T - tail] = gaps[len(items) - keep:]
    rows["action"][s, c0:T - tail] = acts[len(items) - keep:]
    rows["valid"][s, c0:T - tail] = True


def empty_rows(B, T):
    return dict(item=np.zeros((B, T), np.int64), gap=np.zeros((B, T), np.int64),
                action=np.zeros((B, T), np.int64), valid=np.zeros((B, T), bool))


def train_batch(seqs, cfg, tc, rng):
    """The trainer's batch rule (experiments/train/trainer.cpp make_train_batch) on padded rows."""
    T, mask = cfg.max_len, cfg.num_items + 1
    rows = empty_rows(len(seqs), T)
    tb, tt, tgt = [], [], []
    for s, (items, gaps, act) in enumerate(seqs):
        if tc["crop_prob"] > 0 and len(items) >= 3 and rng.random() < tc["crop_prob"]:
            n = 2 + int(rng.integers(len(items) - 1))
            items, gaps, act = items[:n], gaps[:n], act[:n]
        if cfg.causal:  # make_causal_batch: every input's target is the event after it
            if len(items) < 2:
                continue
            place(rows, s, items[:-1], gaps[:-1], act[:-1], T, 0)
            keep = min(len(items) - 1, T)
            for i in range(keep):
                tb.append(s), tt.append(T - keep + i), tgt.append(int(items[len(items) - keep + i]))
            continue
        if tc["last_item_prob"] > 0 and len(items) >= 2 and rng.random() < tc["last_item_prob"]:
            place(rows, s, items[:-1], gaps[:-1], act[:-1], T, 1)
            rows["item"][s, T - 1], rows["valid"][s, T - 1] = mask, True
            tb.append(s), tt.append(T - 1), tgt.append(int(items[-1]))
            continue
        place(rows, s, items, gaps, act, T, 0)
        keep = min(len(items), T)
        cols = T - keep + np.nonzero(rng.random(keep) < tc["mask_prob"])[0]
        if len(cols) == 0:
            cols = np.array([T - keep + int(rng.integers(keep))])
        for c in cols:
            tb.append(s), tt.append(int(c)), tgt.append(int(rows["item"][s, c]))
            rows["item"][s, c] = mask  # the masked event keeps its action and gap, as in core/batch.cpp
    return rows, torch.tensor(tb), torch.tensor(tt), torch.tensor(tgt)


def encode(model, rows, T):
    pos = torch.arange(T).expand(rows["item"].shape[0], T)
    return model.encode(torch.from_numpy(rows["item"]), pos, torch.from_numpy(rows["action"]),
                        torch.from_numpy(rows["gap"]), torch.from_numpy(rows["valid"]))


@torch.no_grad()
def evaluate(model, cfg, seqs, ks=(10,), batch=256):
    """Full ranking, history not excluded: {hr@K, ndcg@K}."""
    model.eval()
    T, mask = cfg.max_len, cfg.num_items + 1
    ranks = []
    for b0 in range(0, len(seqs), batch):
        chunk = seqs[b0:b0 + batch]
        rows = empty_rows(len(chunk), T)
        targets = []
        for s, (items, gaps, act) in enumerate(chunk):
            if cfg.causal and len(items) >= 2:  # the newest event's state predicts the next one
                place(rows, s, items[:-1], gaps[:-1], act[:-1], T, 0)
            else:
                place(rows, s, items[:-1], gaps[:-1], act[:-1], T, 1)
                rows["item"][s, T - 1], rows["valid"][s, T - 1] = mask, True
            targets.append(int(items[-1]))
        x = encode(model, rows, T)
        scores = model.logits_at(x, torch.arange(len(chunk)), torch.full((len(chunk),), T - 1))  # (B, V)
        t = torch.tensor(targets) - 1
        st = scores.gather(1, t[:, None])
        ranks.append(((~(scores < st)).sum(1) - 1).numpy())  # the target itself is not counted
    r = np.concatenate(ranks)
    out = {}
    for k in ks:
        out[f"hr@{k}"] = float(np.mean(r < k))
        out[f"ndcg@{k}"] = float(np.mean(np.where(r < k, 1.0 / np.log2(r + 2.0), 0.0)))
    model.train()
    return out


def lr_at(step, o, total):
    """kernels/lr_schedule.cpp."""
    if step < o["warmup_steps"]:
        return o["lr"] * step / o["warmup_steps"]
    if o["schedule"] == "constant":
        return o["lr"]
    t = min(1.0, (step - o["warmup_steps"]) / (total - o["warmup_steps"]))
    f = 1.0 - t if o["schedule"] == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))
    return o["min_lr"] + (o["lr"] - o["min_lr"]) * f


def train_twin(rc, data, threads, log):
    torch.set_num_threads(threads)
    torch.manual_seed(rc["seed"])
    rng = np.random.default_rng(rc["seed"])
    m = rc["model"]
    if "causal" in m and "objective" not in m:  # a run directory written before model.objective
        m = dict(m, objective="causal" if m["causal"] else "cloze")
    cfg = Config(**{k: m[k] for k in Config().as_dict() if k in m})
    train, valid, test = (read_split(data, s, cfg.num_gap_buckets) for s in ("train", "valid", "test"))
    model = Bert4RecTwin(cfg, exact=False)
    model.load(init_params(cfg))
    named = model.named_flat()
    decays = {p[0]: p[3] for p in param_layout(cfg)}
    o = rc["optim"]
    optim = torch.optim.AdamW([dict(params=[t for n, t in named.items() if decays[n]], weight_decay=o["weight_decay"]),
                               dict(params=[t for n, t in named.items() if not decays[n]], weight_decay=0.0)],
                              lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    G = rc["global_batch_size"]
    per_epoch = (len(train) + G - 1) // G
    total = rc["max_steps"] if rc["max_steps"] > 0 else rc["epochs"] * per_epoch
    if rc["max_steps"] > 0 and rc["epochs"] > 0:
        total = min(total, rc["epochs"] * per_epoch)
    sched_total = o["total_steps"] if o["total_steps"] > 0 else total
    eval_every = rc["eval_every"] if rc["eval_every"] > 0 else per_epoch
    metric = rc["eval_metric"]
    best, best_step, best_state, since = -1.0, -1, None, 0
    tokens, t0, order = 0, time.time(), []
    model.train()
    for step in range(total):
        if step % per_epoch == 0:
            order = rng.permutation(len(train))
        ids = order[(step % per_epoch) * G:(step % per_epoch + 1) * G]
        rows, tb, tt, tgt = train_batch([train[i] for i in ids], cfg, rc, rng)
        tokens += int(rows["valid"].sum())
        for g in optim.param_groups:
            g["lr"] = lr_at(step, o, sched_total)
        optim.zero_grad()
        loss = model.loss(encode(model, rows, cfg.max_len), tb, tt, tgt)
        loss.backward()
        if o["clip_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(list(named.values()), o["clip_norm"])
        optim.step()
        if (step + 1) % eval_every == 0 or step + 1 == total:
            v = evaluate(model, cfg, valid)
            log(f"torch step {step + 1}/{total} loss {loss.item():.4f} valid hr@10 {v['hr@10']:.4f} "
                f"ndcg@10 {v['ndcg@10']:.4f} tok/s {tokens / (time.time() - t0):.0f}")
            if v[metric] > best:
                best, best_step, since = v[metric], step + 1, 0
                best_state = {n: t.detach().clone() for n, t in named.items()}
                best_valid = v
            else:
                since += 1
                if rc["patience"] > 0 and since >= rc["patience"]:
                    break
    seconds = time.time() - t0
    with torch.no_grad():
        for n, t in named.items():
            t.copy_(best_state[n])
    return dict(valid=best_valid, test=evaluate(model, cfg, test), best_step=best_step, steps=step + 1,
                train_seconds=seconds, tokens_per_second=tokens / seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", required=True, help="shard set (seqmend ingest output)")
    ap.add_argument("--binary", default="build/experiments/seqmend")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1, help="threads for each engine (run one after the other)")
    ap.add_argument("--skip-seqmend", action="store_true", help="reuse OUT/seqmend from an earlier run")
    ap.add_argument("overrides", nargs="*", help="key=value, passed to seqmend and so to both")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    run = os.path.join(a.out, "seqmend")
    logf = open(os.path.join(a.out, "compare.log"), "a")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    if not a.skip_seqmend:
        env = dict(os.environ, OMP_WAIT_POLICY="passive")
        subprocess.run([a.binary, "pretrain", "--config", a.config, f"data_dir={a.data}", f"run_dir={run}",
                        f"threads={a.threads}", "--overwrite"] + a.overrides, check=True, env=env)
    with open(os.path.join(run, "config.yaml")) as f:
        rc = yaml.safe_load(f)
    with open(os.path.join(run, "results.json")) as f:
        sm = json.load(f)
    tw = train_twin(rc, a.data, a.threads, log)
    res = dict(seqmend=dict(valid=sm["valid"], test=sm["test"], steps=sm.get("steps"),
                            train_seconds=sm.get("train_seconds"), tokens_per_second=sm.get("tokens_per_s")),
               torch=tw, config=rc, torch_version=torch.__version__)
    with open(os.path.join(a.out, "compare.json"), "w") as f:
        json.dump(res, f, indent=1, default=float)
    log(f"{'engine':8} {'valid hr@10':>11} {'ndcg@10':>8} {'test hr@10':>10} {'ndcg@10':>8} {'steps':>6} "
        f"{'seconds':>8} {'tokens/s':>9}")
    for name, r in (("seqmend", res["seqmend"]), ("pytorch", tw)):
        log(f"{name:8} {r['valid']['hr@10']:11.4f} {r['valid']['ndcg@10']:8.4f} {r['test']['hr@10']:10.4f} "
            f"{r['test']['ndcg@10']:8.4f} {r['steps']:6d} {r['train_seconds']:8.1f} {r['tokens_per_second']:9.0f}")


if __name__ == "__main__":
    main()
