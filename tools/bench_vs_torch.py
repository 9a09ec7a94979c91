#!/usr/bin/python3
"""seqmend's training step against the PyTorch twin, in one run, on the same machine and batches.

For each config and thread count: seqmend's step time (bench/train_step_bench.cpp, via its Google
Benchmark JSON) and the twin's step time (tools/torch_twin.py, exact=False: an ordinary PyTorch model
on padded batches with a key-padding mask, nn-style dropout, full softmax over all items at the
masked rows only, torch.optim.AdamW + clip_grad_norm_), the ratio torch/seqmend, the achieved
GFLOP/s (both engines credited with the same useful FLOPs: Bert4Rec::train_flops), and the
machine's sgemm ceiling measured now with torch.mm. Both engines see bit-identical batches (the bench
reports a checksum of its batches; this script regenerates them and checks it) and the same thread
count (SEQMEND_THREADS / torch.set_num_threads). The engines alternate `--rounds` times and the
fastest round of each is kept, because the machine is shared and noisy.

  /usr/bin/python3 tools/bench_vs_torch.py --binary build-model/bench/bench_train_step
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# Both engines run their loops on libgomp and their matmuls on OpenBLAS's own pthreads. On cores
# shared with other work, libgomp's default spin-waiting between parallel regions steals the cores
# the BLAS threads need (seqmend at 2 threads measured 4x slower than at 1). libgomp reads this
# once, when it is loaded, so it is set here, before torch is imported, for both engines alike (the
# seqmend subprocess inherits it). An explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_twin as tw  # noqa: E402

DATA_SEED, BATCHES = 2024, 3
CONFIGS = {  # name: (V, C, L, NH, T, B) — the same table as bench/train_step_bench.cpp
    "a": (3706, 64, 2, 2, 200, 128),
    "b": (3706, 256, 4, 4, 200, 128),
    "c": (100000, 128, 2, 2, 50, 128),
}
BARS = {"a": 2.0, "b": 1.2, "c": 1.3}


def synthetic_batches(cfg, B):
    """bench/train_step_bench.cpp synthetic_batches, bit for bit."""
    T, V = cfg.max_len, cfg.num_items
    out = []
    for k in range(BATCHES):
        seqs = []
        for s in range(B):
            sid = k * B + s
            r = tw.Rng(DATA_SEED, sid)
            n = T // 2 + r.below(T - T // 2 + 1)
            seqs.append(dict(items=[1 + r.below(V) for _ in range(n)], sample_id=sid))
        out.append(tw.cloze_batch(seqs, cfg, 0.2, DATA_SEED, k))
    return out


def checksum(batches):
    return float(sum(sum(b["item"]) + sum(b["target_rows"]) for b in batches))


def useful_flops(cfg, b):
    """Bert4Rec::train_flops."""
    C, L = cfg.d_model, cfg.num_layers
    cu = b["cu_seqlens"]
    lens = [float(e - s) for s, e in zip(cu, cu[1:])]
    attn = sum(n * (n + 1) / 2 for n in lens) if cfg.causal else sum(n * n for n in lens)
    N, M = sum(lens), float(len(b["target_rows"]))
    return 3.0 * (L * (24.0 * C * C * N + 4.0 * attn * C) + 2.0 * M * cfg.num_items * C)


def torch_inputs(b, cfg, device="cpu"):
    arr, _, valid, _, rows = tw.padded(b, cfg)
    B, T = len(valid), cfg.max_len
    pos = torch.arange(T).expand(B, T)
    x = [torch.tensor(arr["item"], dtype=torch.int64), pos, torch.tensor(arr["action"], dtype=torch.int64),
         torch.tensor(arr["gap"], dtype=torch.int64), torch.tensor(valid, dtype=torch.bool)]
    rest = [torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows]), torch.tensor(b["target_items"])]
    return [t.to(device) for t in x], *(t.to(device) for t in rest)


class TorchStep:
    def __init__(self, cfg, batches, device="cpu"):
        self.device = device
        self.model = tw.Bert4RecTwin(cfg, exact=False)
        self.model.load(tw.init_params_torch(cfg))  # no numpy on this path
        self.model.to(device)
        self.model.train()
        layout = {p[0]: p[3] for p in tw.param_layout(cfg)}
        named = self.model.named_flat()
        self.params = list(named.values())
        groups = [dict(params=[t for n, t in named.items() if layout[n]], weight_decay=0.01),
                  dict(params=[t for n, t in named.items() if not layout[n]], weight_decay=0.0)]
        # foreach=True: the multi-tensor AdamW is PyTorch's fastest CPU path in 1.13.
        self.opt = torch.optim.AdamW(groups, lr=1e-3, foreach=True)
        self.inputs = [torch_inputs(b, cfg, device) for b in batches]
        self.k = 0

    def step(self):
        x, rb, rt, tgt = self.inputs[self.k % len(self.inputs)]
        self.k += 1
        self.opt.zero_grad(set_to_none=True)
        loss = self.model.loss(self.model.encode(*x), rb, rt, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        return loss.item()  # like seqmend's step, which reads its loss back: a GPU step ends here

    def time(self, steps):
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = self.step()
        return (time.perf_counter() - t0) / steps * 1e3, loss


def run_seqmend(binary, name, threads, min_time):
    env = dict(os.environ, SEQMEND_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, f"--benchmark_filter=^train_step/{name}/", "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"], env=env, check=True, capture_output=True,
                         text=True).stdout
    r = json.loads(out)["benchmarks"][0]
    assert r["time_unit"] == "ms", r["time_unit"]
    return r["real_time"], r


def sgemm_ceiling(threads, n=2048, reps=5):
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(timed(lambda: torch.mm(a, b)) for _ in range(reps))
    return 2.0 * n ** 3 / best / 1e9


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "build-model", "bench",
                                                     "bench_train_step"))
    ap.add_argument("--configs", default="a,b,c")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=4.0, help="minimum timed seconds per engine per round")
    args = ap.parse_args()

    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        ceiling = sgemm_ceiling(threads)
        for name in args.configs.split(","):
            V, C, L, NH, T, B = CONFIGS[name]
            cfg = tw.Config(num_items=V, d_model=C, num_layers=L, num_heads=NH, max_len=T, emb_dropout=0.1,
                            hidden_dropout=0.1, attn_dropout=0.1)
            batches = synthetic_batches(cfg, B)
            flops = statistics.mean(useful_flops(cfg, b) for b in batches)
            torch.set_num_threads(threads)
            ts = TorchStep(cfg, batches)
            ts.step()  # warm-up: allocator, first-touch
            s_ms, t_ms = [], []
            for _ in range(args.rounds):
                ms, r = run_seqmend(args.binary, name, threads, args.seconds)
                if abs(r["batch_sum"] - checksum(batches)) > 0.5:
                    sys.exit(f"config {name}: seqmend's batches differ from ours "
                             f"(checksum {r['batch_sum']} vs {checksum(batches)})")
                s_ms.append(ms)
                steps = max(2, int(args.seconds * 1e3 / max(ms, 1.0)))
                tms, tloss = ts.time(steps)
                t_ms.append(tms)
            s, t = min(s_ms), min(t_ms)
            rows.append((name, threads, s, t, t / s, flops / s / 1e6, flops / t / 1e6, ceiling, BARS[name],
                         r["loss"], tloss))
            print(f"  {name} x{threads}: seqmend {s_ms} ms, torch {t_ms} ms", file=sys.stderr, flush=True)

    print()
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, torch {torch.__version__}, "
          f"best of {args.rounds} alternating rounds")
    print("| config | threads | seqmend ms/step | torch ms/step | torch/seqmend | bar | seqmend GFLOP/s "
          "| torch GFLOP/s | sgemm ceiling GFLOP/s | loss seqmend / torch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, th, s, t, ratio, sg, tg, ceil, bar, sl, tl) in rows:
        ok = "ok" if ratio >= bar else "BELOW"
        print(f"| {name} | {th} | {s:.1f} | {t:.1f} | {ratio:.2f} | {bar} {ok} | {sg:.1f} | {tg:.1f} | {ceil:.1f} "
              f"| {sl:.3f} / {tl:.3f} |")


if __name__ == "__main__":
    main()
