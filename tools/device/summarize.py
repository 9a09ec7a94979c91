"""Prints the device check's one table: test counts (and the names of failures) from the GoogleTest
JSON reports, then every kernel's time, bandwidth and rate, and for attention the PyTorch SDPA time
on the same shape and the ratio torch_ms / ours_ms (> 1: ours is faster); then whole training
steps on the GPU against the PyTorch twin (tokens/s, the ratio, and model FLOP utilisation against
the FP32 GEMM ceiling torch.mm reached in the same run; bar: seqmend ≥ 1.5× the twin), and the
`seqmend pretrain` run with device=cuda against the same run on the CPU (pretrain/compare.json), and
the `seqmend finetune` run of the detector on that encoder the same way (pretrain/finetune_compare.json).
On a machine without a GPU (device-check leaves OUTDIR/no_gpu) every GPU row reads "no GPU".
usage: summarize.py OUTDIR   (reads OUTDIR/*.json, kernels.tsv, sdpa.tsv, train.tsv, train_torch.tsv,
                              pretrain/compare.json, pretrain/finetune_compare.json, no_gpu,
                              <phase>.skipped)
Exit status 1 when a test failed, test_cuda or test_nccl left no report, or a training comparison failed.
"""
import glob
import json
import os
import sys


EXPECTED_TEST_PROGRAMS = ("test_cuda", "test_nccl")


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    if not lines:
        return []
    head = lines[0]
    return [dict(zip(head, l)) for l in lines[1:]]


def pretrain_row(d, no_gpu, stage="pretrain"):
    """(row, failed) for the pretrain (or finetune) comparison; a run that never reported fails on a
    GPU machine."""
    path = os.path.join(d, "pretrain", "compare.json" if stage == "pretrain" else "finetune_compare.json")
    name = f"{stage} cuda vs cpu"
    if not os.path.exists(path):
        if no_gpu:
            return (name, "no GPU", "", "", "", "", ""), False
        if os.path.exists(os.path.join(d, "pretrain.skipped")):
            return (name, "skipped: the budget was spent", "", "", "", "", ""), False
        return (name, "FAILED: did not finish (see pretrain.log)", "", "", "", "", ""), True
    with open(path) as f:
        r = json.load(f)
    status = r.get("status")
    if status == "skipped":
        return (name, "no GPU" if no_gpu else "skipped", r.get("reason", ""), "", "", "", ""), False
    if status != "ok":
        return (name, "FAILED", r.get("reason", "?"), "", "", "", ""), True
    worst = r.get("worst", {})
    loss, gnorm = worst.get("loss", [0, 0]), worst.get("grad_norm", [0, 0])
    ndcg = r.get("valid_ndcg@10")
    return (name, f"{r.get('steps')} steps", f"loss rel {loss[0]:.1e} (step {loss[1]})",
            f"{'grad_norm' if stage == 'pretrain' else 'head grad_norm'} rel {gnorm[0]:.1e} (step {gnorm[1]})",
            f"ndcg@10 {ndcg[0]:.4f} / {ndcg[1]:.4f}" if ndcg and None not in ndcg else "", "",
            "ok (1e-5/1e-4 step 1, 1e-3/1e-2 after)"), False


def main():
    d = sys.argv[1]
    no_gpu = os.path.exists(os.path.join(d, "no_gpu"))
    passed = failed = skipped = 0
    failures, programs = [], []
    for path in sorted(glob.glob(os.path.join(d, "*.json"))):
        programs.append(os.path.basename(path)[:-5])
        with open(path) as f:
            rep = json.load(f)
        for suite in rep.get("testsuites", []):
            for t in suite.get("testsuite", []):
                name = f"{suite['name']}.{t['name']}"
                if t.get("failures"):
                    failed += 1
                    failures.append(name)
                elif t.get("result") == "SKIPPED" or t.get("status") == "NOTRUN":
                    skipped += 1
                else:
                    passed += 1
    # A test program that left no report crashed, could not start (a missing library) or ran past
    # its cap: a failure, unless the budget skipped it before it started.
    for program in EXPECTED_TEST_PROGRAMS:
        if program not in programs and not os.path.exists(os.path.join(d, f"{program}.skipped")):
            failed += 1
            failures.append(f"{program}: no report (crashed, did not start, or ran past its cap; see {program}.log)")
    kernels = read_tsv(os.path.join(d, "kernels.tsv"))
    torch = {(r["kernel"], r["shape"]): float(r["ms"]) for r in read_tsv(os.path.join(d, "sdpa.tsv"))}

    rows = [("tests", " ".join(programs) or "(no report)",
             f"passed {passed}", f"failed {failed}", f"skipped {skipped}", "", "")]
    for name in failures[:20]:
        rows.append(("  FAILED", name, "", "", "", "", ""))
    for k in kernels:
        ours = float(k["ms"])
        t = torch.get((k["kernel"], k["shape"]))
        rows.append((k["kernel"], k["shape"], f"{ours:.4f} ms", f"{float(k['GB/s']):.0f} GB/s",
                     f"{float(k['TFLOP/s']):.2f} TFLOP/s",
                     f"torch {t:.4f} ms" if t else "", f"x{t / ours:.2f}" if t else ""))
    if not kernels:
        rows.append(("kernels", "no GPU" if no_gpu else "(no kernels.tsv: benchmark did not run)", "", "", "", "",
                     ""))
    # Focal loss forward + backward against the copy bandwidth measured in the same run (bar: 80 %).
    gbs = {k["kernel"]: float(k["GB/s"]) for k in kernels}
    if gbs.get("copy", 0) > 0 and "sigmoid_focal_loss" in gbs:
        share = gbs["sigmoid_focal_loss"] / gbs["copy"]
        rows.append(("focal loss vs copy", f"{gbs['sigmoid_focal_loss']:.0f} of {gbs['copy']:.0f} GB/s", "", "", "",
                     f"{share:.0%}", "ok (bar 80%)" if share >= 0.8 else "BELOW bar 80%"))
    # Our bf16 attention against cuDNN's fused attention on the same call (bar: at least as fast at
    # T 200, head size 64, forward + backward).
    ms = {(k["kernel"], k["shape"]): float(k["ms"]) for k in kernels}
    for (kernel, shape), ours in sorted(ms.items()):
        if kernel != "attention_forward" or not shape.endswith(" bf16"):
            continue
        cf, cb = ms.get((kernel, shape + " cudnn")), ms.get(("attention_backward", shape + " cudnn"))
        ob = ms.get(("attention_backward", shape))
        if cf is None or cb is None or ob is None:
            continue
        ratio = (cf + cb) / (ours + ob)
        bar = "HS64" in shape.split()
        verdict = ("ok (bar 1.0)" if ratio >= 1.0 else "BELOW bar 1.0") if bar else ""
        rows.append(("attention fwd+bwd vs cuDNN", shape, f"{ours + ob:.4f} ms", f"cudnn {cf + cb:.4f} ms",
                     "", f"x{ratio:.2f}", verdict))
    ours_train = read_tsv(os.path.join(d, "train.tsv"))
    twin = {r["config"]: r for r in read_tsv(os.path.join(d, "train_torch.tsv"))}
    for r in ours_train:
        t = twin.get(r["config"])
        tok, tf = float(r["tokens_per_s"]), float(r["TFLOP_per_s"])
        ceiling = float(t["gemm_ceiling_TFLOP_per_s"]) if t else 0.0
        mfu = f"MFU {tf / ceiling:.1%}" if ceiling > 0 else ""
        if t:
            ratio = tok / float(t["tokens_per_s"])
            rows.append((f"train_step {r['config']}", f"{float(r['ms_per_step']):.2f} ms, {tok:,.0f} tok/s",
                         f"{tf:.2f} TFLOP/s", mfu, f"twin {float(t['tokens_per_s']):,.0f} tok/s",
                         f"x{ratio:.2f}", "ok (bar 1.5)" if ratio >= 1.5 else "BELOW bar 1.5"))
        else:
            rows.append((f"train_step {r['config']}", f"{float(r['ms_per_step']):.2f} ms, {tok:,.0f} tok/s",
                         f"{tf:.2f} TFLOP/s", mfu, "(no twin figure)", "", ""))
    if not ours_train:
        rows.append(("train_step", "no GPU" if no_gpu else "(no train.tsv: GPU training benchmark did not run)",
                     "", "", "", "", ""))
    if not torch:
        rows.append(("attention vs torch SDPA", "no GPU" if no_gpu else "(no sdpa.tsv: PyTorch SDPA did not run)",
                     "", "", "", "", ""))
    pretrain_failed = False
    for stage in ("pretrain", "finetune"):
        row, stage_failed = pretrain_row(d, no_gpu, stage)
        rows.append(row)
        pretrain_failed = pretrain_failed or stage_failed
    widths = [max(len(r[i]) for r in rows) for i in range(7)]
    print("=" * (sum(widths) + 14))
    print("seqmend GPU device check   (ratio = torch ms / ours ms; > 1 means ours is faster)"
          + ("   — NO GPU: a dry run" if no_gpu else ""))
    print("=" * (sum(widths) + 14))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 1 if failed or not programs or pretrain_failed else 0


if __name__ == "__main__":
    sys.exit(main())
