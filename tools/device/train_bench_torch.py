"""The PyTorch twin's training step on the GPU, on the batches bench_cuda_train trains on, for the
device check's end-to-end comparison (tokens/s, and TFLOP/s credited with ItemTransformer::train_flops as
seqmend is), plus the GPU's FP32 GEMM ceiling measured now with torch.mm (TF32 off on both sides:
seqmend's GEMMs are full FP32), which the summary divides by for model FLOP utilisation.
usage: train_bench_torch.py OUT.tsv [OURS.tsv] [seconds per config, default 3]
Needs tools/bench_vs_torch.py and tools/torch_twin.py beside it or in ../ (the bundle carries both),
and PyTorch, but not numpy (the GPU machine's Python may lack it; ctest device_torch_peer_without_numpy).
"""
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [here, os.path.join(here, "..")]
import torch  # noqa: E402

import bench_vs_torch as bv  # noqa: E402
import torch_twin as tw  # noqa: E402


def gemm_ceiling_tflops(n=8192, reps=10):
    a, b = torch.randn(n, n, device="cuda"), torch.randn(n, n, device="cuda")
    torch.mm(a, b)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    torch.cuda.synchronize()
    return 2.0 * n ** 3 * reps / (time.perf_counter() - t0) / 1e12


def main():
    out = sys.argv[1]
    ours = {}
    if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
        with open(sys.argv[2]) as f:
            head = f.readline().rstrip("\n").split("\t")
            for line in f:
                r = dict(zip(head, line.rstrip("\n").split("\t")))
                ours[r["config"]] = r
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    if not torch.cuda.is_available():
        print("train_bench_torch: no GPU visible to PyTorch, nothing measured")
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    ceiling = gemm_ceiling_tflops()
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}: FP32 GEMM ceiling {ceiling:.1f} TFLOP/s")
    rows = []
    for name, (V, C, L, NH, T, B) in bv.CONFIGS.items():
        cfg = tw.Config(num_items=V, d_model=C, num_layers=L, num_heads=NH, max_len=T, emb_dropout=0.1,
                        hidden_dropout=0.1, attn_dropout=0.1)
        batches = bv.synthetic_batches(cfg, B)
        if name in ours and abs(float(ours[name]["batch_sum"]) - bv.checksum(batches)) > 0.5:
            sys.exit(f"config {name}: bench_cuda_train's batches differ from ours")
        tokens = statistics.mean(b["cu_seqlens"][-1] for b in batches)
        flops = statistics.mean(bv.useful_flops(cfg, b) for b in batches)
        ts = bv.TorchStep(cfg, batches, device="cuda")
        for _ in range(3):
            ts.step()
        steps, t0, loss = 0, time.perf_counter(), 0.0
        while time.perf_counter() - t0 < seconds or steps < 10:
            loss = ts.step()
            steps += 1
        ms = (time.perf_counter() - t0) * 1e3 / steps
        rows.append((name, ms, tokens / ms * 1e3, flops / ms * 1e-9, loss, ceiling))
        print(f"train_step/{name} torch on cuda: {ms:.3f} ms/step, {tokens / ms * 1e3:.0f} tokens/s, loss {loss:.4f}")
    with open(out, "w") as f:
        f.write("config\tms_per_step\ttokens_per_s\tTFLOP_per_s\tloss\tgemm_ceiling_TFLOP_per_s\n")
        for r in rows:
            f.write("%s\t%.5f\t%.1f\t%.5f\t%.6f\t%.3f\n" % r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
