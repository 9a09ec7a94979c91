#!/usr/bin/python3
"""seqmend's training step against a standard PyTorch model, in one run, on the same machine and batches.

The speed peer is tools/torch_standard.py: the same BERT4Rec as a PyTorch user writes it
(nn.TransformerEncoderLayer on padded batches with a key-padding mask, the tied output layer and
F.cross_entropy at the masked rows only, torch.optim.AdamW + clip_grad_norm_), from seqmend's own
initial weights. tools/torch_twin.py stays the exactness reference (TorchStep below runs its speed
path for the GPU device check, tools/device/train_bench_torch.py).

For each config, thread count and dropout (0 and 0.1, bench rows train_step/<config>/p0 and
train_step/<config>): seqmend's step time (bench/train_step_bench.cpp, via its Google Benchmark
JSON), the peer's, the ratio peer/seqmend against the issue's bars, and each engine's achieved
GFLOP/s, both credited with the same useful FLOPs (ItemTransformer::train_flops on the same batches).
The header names the CPU, OpenBLAS's core, the library each engine multiplies with, and each
engine's GEMM ceiling measured now at the same thread count: torch.mm for PyTorch,
gemm_ceiling/2048 of the bench (matmul_forward: seqmend's library over its thread team) for
seqmend. Both engines see bit-identical batches (the bench reports a checksum of its batches; this
script regenerates them and checks it) and the same thread count (SEQMEND_THREADS;
torch.set_num_threads and OpenBLAS's pool). The engines alternate `--rounds` times and the fastest
round of each is kept, because the machine is shared and noisy.

  /usr/bin/python3 tools/bench_vs_torch.py --binary build/bench/bench_train_step --rounds 3
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
# The bars for peer/seqmend, by (config, dropout); None: no bar.
BARS = {("a", 0.1): 3.0, ("a", 0.0): 2.0, ("b", 0.1): 1.5, ("b", 0.0): 1.5}
DROPOUTS = (0.0, 0.1)


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
    """ItemTransformer::train_flops."""
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


def bench_row(config, dropout):
    """The bench's row name: train_step/<config> runs the model's default dropout (0.1)."""
    return f"train_step/{config}/" if dropout == 0.1 else f"train_step/{config}/p{dropout:g}/"


def run_bench(binary, row, threads, min_time):
    env = dict(os.environ, SEQMEND_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, f"--benchmark_filter=^{row}", "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"], env=env, check=True, capture_output=True,
                         text=True).stdout
    r = json.loads(out)["benchmarks"][0]
    assert r["time_unit"] == "ms", r["time_unit"]
    return r["real_time"], r


def run_seqmend(binary, name, threads, min_time, dropout=0.1):
    return run_bench(binary, bench_row(name, dropout), threads, min_time)


def openblas():
    """The OpenBLAS PyTorch's BLAS calls resolve to (Debian's libblas.so.3 is a shim over it), or None."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib
    except OSError:
        return None


def set_torch_threads(threads):
    """torch.set_num_threads sizes PyTorch's OpenMP team (and MKL's), not OpenBLAS's own pthread pool,
    which otherwise takes every core: at "1 thread" the peer's GEMMs would run on all of them."""
    torch.set_num_threads(threads)
    lib = openblas()
    if lib is not None:
        lib.openblas_set_num_threads(threads)


def torch_ceiling(threads, n=2048, reps=5):
    set_torch_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = min(timed(lambda: torch.mm(a, b)) for _ in range(reps))
    return 2.0 * n ** 3 / best / 1e9



def seqmend_ceiling(binary, threads, rounds=2):
    return max(run_bench(binary, "gemm_ceiling/", threads, 0.5)[1]["GFLOP/s"] for _ in range(rounds))


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def time_peer(peer, seconds):
    steps, t0, loss = 0, time.perf_counter(), 0.0
    while steps < 2 or time.perf_counter() - t0 < seconds:
        loss = peer.step()
        steps += 1
    return (time.perf_counter() - t0) / steps * 1e3, loss


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        return f"{names[0]} ({len(names)} logical CPUs)" if names else "unknown"
    except OSError:
        return "unknown"


def torch_blas():
    """What torch's f32 GEMMs run on: its build's BLAS_INFO and the BLAS library actually loaded."""
    info = [w for w in torch.__config__.show().replace(",", " ").split() if w.startswith(("BLAS_INFO=", "USE_MKLDNN="))]
    with open("/proc/self/maps") as f:
        libs = sorted({os.path.basename(line.split()[-1]) for line in f
                       if "blas" in os.path.basename(line.split()[-1]) or "mkl" in os.path.basename(line.split()[-1])})
    return f"{' '.join(info)}; loaded: {', '.join(libs) or 'none'}"


def seqmend_gemm(binary):
    """`seqmend info`'s second line (the GEMM path: SEQMEND_GEMM=auto|onednn|openblas)."""
    exe = os.path.join(os.path.dirname(os.path.abspath(binary)), "..", "experiments", "seqmend")
    try:
        lines = subprocess.run([exe, "info"], check=True, capture_output=True, text=True,
                               env=dict(os.environ, SEQMEND_THREADS="1")).stdout.splitlines()
        return lines[1] if len(lines) > 1 else "(seqmend info names no GEMM path)"
    except (OSError, subprocess.CalledProcessError) as e:
        return f"(seqmend info failed: {e})"


def main():
    import torch_standard as ts

    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "build", "bench",
                                                     "bench_train_step"))
    ap.add_argument("--configs", default="a,b,c")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dropouts", default=",".join(f"{p:g}" for p in DROPOUTS))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=4.0, help="minimum timed seconds per engine per round")
    args = ap.parse_args()
    dropouts = [float(x) for x in args.dropouts.split(",")]
    if not set(dropouts) <= set(DROPOUTS):
        sys.exit(f"--dropouts: the bench has rows for {DROPOUTS} only")

    t_start, load_start = time.time(), os.getloadavg()
    rows, ceilings = [], {}
    for threads in [int(t) for t in args.threads.split(",")]:
        ceilings[threads] = (seqmend_ceiling(args.binary, threads), torch_ceiling(threads))
        for name in args.configs.split(","):
            V, C, L, NH, T, B = CONFIGS[name]
            for p in dropouts:
                cfg = tw.Config(num_items=V, d_model=C, num_layers=L, num_heads=NH, max_len=T, emb_dropout=p,
                                hidden_dropout=p, attn_dropout=p)
                batches = synthetic_batches(cfg, B)
                flops = statistics.mean(useful_flops(cfg, b) for b in batches)
                set_torch_threads(threads)
                peer = ts.StandardStep(cfg, batches, p)
                peer.step()  # warm-up: allocator, first-touch
                s_ms, t_ms = [], []
                for _ in range(args.rounds):
                    ms, r = run_seqmend(args.binary, name, threads, args.seconds, p)
                    if abs(r["batch_sum"] - checksum(batches)) > 0.5:
                        sys.exit(f"config {name}: seqmend's batches differ from ours "
                                 f"(checksum {r['batch_sum']} vs {checksum(batches)})")
                    s_ms.append(ms)
                    tms, tloss = time_peer(peer, args.seconds)
                    t_ms.append(tms)
                s, t = min(s_ms), min(t_ms)
                rows.append((name, threads, p, s, t, flops, r["loss"], tloss))
                print(f"  {name} x{threads} p{p:g}: seqmend {[round(x, 1) for x in s_ms]} ms, "
                      f"torch {[round(x, 1) for x in t_ms]} ms", file=sys.stderr, flush=True)

    lib = openblas()
    print()
    print(f"CPU: {cpu_model()}; OpenBLAS core: {lib.openblas_get_corename().decode() if lib else 'no OpenBLAS'}")
    print(f"seqmend: {seqmend_gemm(args.binary)}")
    print(f"PyTorch {torch.__version__} (tools/torch_standard.py; AdamW {ts.adamw_kind()}): f32 GEMMs through "
          f"the BLAS: {torch_blas()}")
    print(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; best of {args.rounds} alternating rounds of "
          f">= {args.seconds:g} s per engine; load average {load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} "
          f"at end ({(time.time() - t_start) / 60:.1f} min)")
    for th, (sc, tc) in ceilings.items():
        print(f"GEMM ceiling, 2048^3 f32, {th} thread(s): seqmend {sc:.1f} GFLOP/s (gemm_ceiling), "
              f"torch {tc:.1f} GFLOP/s (torch.mm)")
    print()
    print("| config | threads | dropout | seqmend ms/step | torch ms/step | torch/seqmend | bar "
          "| seqmend GFLOP/s (% ceiling) | torch GFLOP/s (% ceiling) | last loss seqmend / torch |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, th, p, s, t, flops, sl, tl) in rows:
        bar = BARS.get((name, p))
        mark = "—" if bar is None else f"{bar:g} {'ok' if t / s >= bar else 'BELOW'}"
        sg, tg = flops / s / 1e6, flops / t / 1e6
        sc, tc = ceilings[th]
        print(f"| {name} | {th} | {p:g} | {s:.1f} | {t:.1f} | {t / s:.2f} | {mark} | {sg:.1f} ({100 * sg / sc:.0f} %) "
              f"| {tg:.1f} ({100 * tg / tc:.0f} %) | {sl:.3f} / {tl:.3f} |")


if __name__ == "__main__":
    main()
