"""PyTorch baseline for the attention kernels: F.scaled_dot_product_attention in f32 and bf16 on the
same GPU, at the shapes bench_cuda_kernels times (B 128, T 200, heads 2/4/8, head size 32/64, no
mask); in bf16 PyTorch picks its flash or cuDNN backend.
Writes TSV rows `kernel  shape  ms` (median of 20 timed calls after 5 warm-ups, CUDA events);
the backward time is (forward + backward) − forward, as ours is timed alone.
"""
import sys

import torch
import torch.nn.functional as F


def median_ms(fn, warm=5, reps=20):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def bench_shape(out, B, T, nh, hs, dtype):
    g = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(B, nh, T, hs, device="cuda", generator=g).to(dtype).requires_grad_()
               for _ in range(3))
    dout = torch.randn(B, nh, T, hs, device="cuda", generator=g).to(dtype)
    shape = f"B128 T200 NH{nh} HS{hs}" + (" bf16" if dtype == torch.bfloat16 else "")
    fwd = median_ms(lambda: F.scaled_dot_product_attention(q, k, v))

    def step():
        o = F.scaled_dot_product_attention(q, k, v)
        torch.autograd.grad(o, (q, k, v), dout)

    both = median_ms(step)
    print(f"attention_forward\t{shape}\t{fwd:.5f}", file=out)
    print(f"attention_backward\t{shape}\t{max(both - fwd, 1e-6):.5f}", file=out)
    out.flush()


def main():
    out = open(sys.argv[1], "w") if len(sys.argv) > 1 else sys.stdout
    if not torch.cuda.is_available():
        print("sdpa_bench: no GPU visible to PyTorch", file=sys.stderr)
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    B, T = 128, 200
    print("kernel\tshape\tms", file=out)
    for nh in (2, 4, 8):
        for hs in (32, 64):
            for dtype in (torch.float32, torch.bfloat16):
                bench_shape(out, B, T, nh, hs, dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
