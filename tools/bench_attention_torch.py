#!/usr/bin/python3
"""PyTorch (CPU) baseline for bench/attention_bench.cpp and bench/softmax_xent_bench.cpp.

Attention the way a PyTorch BERT4Rec does it: sequences padded to the longest one in the batch,
a key-padding mask of -inf, softmax, dropout on the probabilities, P·V, and autograd for backward.
Same shapes as the C++ benchmark: B = 128, lengths uniform in [100, 200], NH×HS = 2×32 and 4×64.
The cross-entropy baseline builds the full (M, V) logits and calls F.cross_entropy.

    /usr/bin/python3 tools/bench_attention_torch.py --threads 2 [--xent]

Prints milliseconds per call (min and median over --iters runs) and useful GFLOP/s counted the
way the C++ benchmark counts them (packed tokens only), so the two can be compared directly.
"""
import argparse
import time

import torch
import torch.nn.functional as F


def timed(fn, iters):
    """(min wall ms, median wall ms, process CPU ms per call / threads). On a shared machine the
    last is the better estimate of the unloaded wall time (the C++ benchmark's CPU column is the
    same idea: the main thread's CPU time)."""
    fn()  # warm up allocator and kernels
    fn()
    times = []
    c0 = time.process_time()
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - c0) / iters / torch.get_num_threads()
    times.sort()
    return times[0] * 1e3, times[len(times) // 2] * 1e3, cpu * 1e3


def attention_padded(qkv, key_valid, NH, HS, p):
    B, T, _ = qkv.shape
    C = NH * HS
    q, k, v = qkv.split(C, dim=-1)
    q = q.view(B, T, NH, HS).transpose(1, 2)  # (B, NH, T, HS)
    k = k.view(B, T, NH, HS).transpose(1, 2)
    v = v.view(B, T, NH, HS).transpose(1, 2)
    scores = (q @ k.transpose(-2, -1)) * (HS ** -0.5)  # (B, NH, T, T)
    scores = scores.masked_fill(~key_valid[:, None, None, :], float("-inf"))
    probs = F.dropout(scores.softmax(dim=-1), p=p, training=p > 0)
    return (probs @ v).transpose(1, 2).reshape(B, T, C)


def bench_attention(NH, HS, p, iters, gen):
    B = 128
    lens = torch.randint(100, 201, (B,), generator=gen)
    T = int(lens.max())
    C = NH * HS
    key_valid = torch.arange(T)[None, :] < lens[:, None]  # (B, T)
    qkv = (torch.rand(B, T, 3 * C, generator=gen) * 2 - 1).requires_grad_(True)
    dout = torch.rand(B, T, C, generator=gen) * 2 - 1
    useful_fwd = float((4 * lens.double() ** 2 * HS * NH).sum())
    useful_bwd = float((10 * lens.double() ** 2 * HS * NH).sum())

    def fwd():
        with torch.no_grad():
            attention_padded(qkv, key_valid, NH, HS, p)

    def fwd_bwd():
        qkv.grad = None
        out = attention_padded(qkv, key_valid, NH, HS, p)
        out.backward(dout)

    for name, fn, flops in (("forward", fwd, useful_fwd), ("forward+backward", fwd_bwd, useful_fwd + useful_bwd)):
        best, med, cpu = timed(fn, iters)
        print(f"torch attention NH={NH} HS={HS} p={p:.1f} {name:17s} min {best:8.2f} ms  median {med:8.2f} ms"
              f"  cpu/thread {cpu:8.2f} ms"
              f"  useful {flops / best / 1e6:6.1f} GFLOP/s  (padded T={T}, tokens={int(lens.sum())})")


def bench_xent(M, V, C, iters, gen):
    hidden = (torch.rand(M, C, generator=gen) - 0.5).requires_grad_(True)
    table = (0.2 * (torch.rand(V + 2, C, generator=gen) - 0.5)).requires_grad_(True)
    bias = (0.1 * (torch.rand(V + 2, generator=gen) - 0.5)).requires_grad_(True)
    targets = torch.randint(0, V, (M,), generator=gen)

    def step():
        for t in (hidden, table, bias):
            t.grad = None
        logits = hidden @ table[1:V + 1].t() + bias[1:V + 1]  # (M, V)
        loss = F.cross_entropy(logits, targets, reduction="sum") / M
        loss.backward()

    best, med, cpu = timed(step, iters)
    print(f"torch softmax_xent M={M} V={V} C={C} loss+grads min {best:8.2f} ms  median {med:8.2f} ms"
          f"  cpu/thread {cpu:8.2f} ms"
          f"  {6 * M * V * C / best / 1e6:6.1f} GFLOP/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--xent", action="store_true", help="also time the cross-entropy baseline")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(2024)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for NH, HS in ((2, 32), (4, 64)):
        for p in (0.0, 0.2):
            bench_attention(NH, HS, p, args.iters, gen)
    if args.xent:
        bench_xent(5120, 3706, 64, args.iters, gen)
        bench_xent(1280, 100000, 128, max(3, args.iters // 3), gen)


if __name__ == "__main__":
    main()
