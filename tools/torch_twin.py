#!/usr/bin/python3
"""The PyTorch twin of seqmend's BERT4Rec (core/model.h), used two ways:

* `exact=True` reproduces seqmend bit-for-bit in its randomness: the counter RNG of core/base/rng.h
  (parameter init, cloze masking) and the dropout keep rule of kernels/dropout.h, written again in
  numpy (uint64 arithmetic wraps). Run as a script it writes tests/core/fixtures/torch_twin.json:
  config, sequences, the packed batch, initial weights, eval logits at the target rows, the training
  loss and every gradient of step 0, and the losses of the first 10 AdamW steps. It computes in
  float64 so the fixture is an accurate reference for seqmend's float32.
* `exact=False` is an ordinary PyTorch model (padded batch + key-padding mask, nn.Dropout) for the
  speed comparison in tools/bench_vs_torch.py and the GPU device check. That path needs no numpy
  (pip's PyTorch does not require it, and the GPU machine's Python may lack it): its batches come
  from the counter RNG on Python ints, its weights from the same counter RNG on torch int64 tensors
  (init_params_torch); numpy is imported only by the exact path.

Layout: padded (B, T) rows, left-padded, so the newest event of every sequence is at column T - 1;
the position embedding is indexed by the column. Item ids: 0 pad, 1..V items, V + 1 mask token.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

U64 = (1 << 64) - 1

# ---------------------------------------------------------------- counter RNG (core/base/rng.h)


def mix64(x):
    """SplitMix64 finaliser on a python int."""
    x = (x + 0x9E3779B97F4A7C15) & U64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & U64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & U64
    return x ^ (x >> 31)


def hash_combine(a, b):
    return mix64(a ^ mix64(b))


def f32(x):
    """x rounded to float32, as a Python float."""
    return struct.unpack("f", struct.pack("f", x))[0]


def uniform01(h):
    # float(h >> 40) * 2^-24 in float32: both factors and the product are exact in float32.
    return (h >> 40) * (1.0 / 16777216.0)


class Rng:
    def __init__(self, seed, stream=0):
        self.key = hash_combine(seed, stream)
        self.counter = 0

    def next_u64(self):
        x = mix64(self.key ^ mix64(self.counter))
        self.counter += 1
        return x

    def uniform(self):
        return uniform01(self.next_u64())

    def below(self, n):
        return (self.next_u64() * n) >> 64


def mix64_np(x):
    import numpy as np
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hash_combine_np(a, b):
    import numpy as np
    return mix64_np(np.asarray(a, dtype=np.uint64) ^ mix64_np(b))


def dropout_keep_np(p, seed, token_keys, cols):
    """kernels/dropout.h: keep = uniform01(hash_combine(hash_combine(seed, key), c)) >= p.
    token_keys (...,) uint64 broadcast against cols (...,) uint64."""
    import numpy as np
    row = hash_combine_np(np.uint64(seed), token_keys)
    h = hash_combine_np(row, cols)
    u = (h >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    return u >= np.float32(p)


def normal_np(key, n):
    """core/param_buffer.cpp normal_at(key, j) for j in [0, n): Box-Muller on counters 2j, 2j + 1."""
    import numpy as np
    j = np.arange(n, dtype=np.uint64)
    key = np.uint64(key)
    a = mix64_np(key ^ mix64_np(np.uint64(2) * j))
    b = mix64_np(key ^ mix64_np(np.uint64(2) * j + np.uint64(1)))
    u1 = ((a >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * (1.0 / 9007199254740992.0)
    u2 = (b >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


def _s64(u):
    """A uint64 constant as the int64 with the same bits."""
    return u - (1 << 64) if u >= (1 << 63) else u


def _shr(x, s):
    """Logical right shift of uint64 bit patterns held in an int64 tensor (torch's >> is arithmetic)."""
    return (x >> s) & ((1 << (64 - s)) - 1)


def mix64_torch(x):
    """mix64 on an int64 tensor of uint64 bit patterns: int64 addition and multiplication wrap modulo
    2^64 exactly as uint64 does, and xor is bitwise."""
    x = x + _s64(0x9E3779B97F4A7C15)
    x = (x ^ _shr(x, 30)) * _s64(0xBF58476D1CE4E5B9)
    x = (x ^ _shr(x, 27)) * _s64(0x94D049BB133111EB)
    return x ^ _shr(x, 31)


def normal_torch(key, n):
    """normal_np without numpy: the same counters and Box-Muller in float64 (torch's log and cos, so
    a value may differ from numpy's in the last float64 bit, which float32 rounding hides)."""
    j = torch.arange(n, dtype=torch.int64)
    k = _s64(key)
    a = mix64_torch(mix64_torch(2 * j) ^ k)
    b = mix64_torch(mix64_torch(2 * j + 1) ^ k)
    u1 = (_shr(a, 11) + 1).double() * (1.0 / 9007199254740992.0)
    u2 = _shr(b, 11).double() * (1.0 / 9007199254740992.0)
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)


def step_dropout_seed(run_seed, step):
    return hash_combine(run_seed, step)


def dropout_site_seed(step_seed, site):
    return hash_combine(step_seed, site)


# ---------------------------------------------------------------- config and parameters


class Config:
    def __init__(self, **kw):
        self.num_items = 50
        self.max_len = 10
        self.d_model = 16
        self.num_layers = 2
        self.num_heads = 2
        self.emb_dropout = 0.1
        self.hidden_dropout = 0.1
        self.attn_dropout = 0.1
        self.num_actions = 16
        self.num_gap_buckets = 32
        self.layernorm_eps = 1e-5
        self.init_std = 0.02
        self.objective = "cloze"  # model.objective: cloze (BERT4Rec) | causal (SASRec-style)
        self.seed = 42
        for k, v in kw.items():
            assert k in self.__dict__, k
            setattr(self, k, v)
        assert self.objective in ("cloze", "causal"), self.objective

    @property
    def causal(self):
        """ModelConfig::causal(): left-to-right attention and next-item targets."""
        return self.objective == "causal"

    def as_dict(self):
        return dict(self.__dict__)


def param_layout(cfg):
    """(name, shape, init, decay) in core/ registration order (the index is the init stream)."""
    C, Fd = cfg.d_model, 4 * cfg.d_model
    out = [("emb.item", (cfg.num_items + 2, C), "normal", True),
           ("emb.pos", (cfg.max_len, C), "normal", True),
           ("emb.action", (cfg.num_actions, C), "normal", True),
           ("emb.gap", (cfg.num_gap_buckets, C), "normal", True),
           ("emb.ln.w", (C,), "ones", False), ("emb.ln.b", (C,), "zeros", False)]
    for l in range(cfg.num_layers):
        p = f"block{l}."
        out += [(p + "ln1.w", (C,), "ones", False), (p + "ln1.b", (C,), "zeros", False),
                (p + "qkv.w", (3 * C, C), "normal", True), (p + "qkv.b", (3 * C,), "zeros", False),
                (p + "proj.w", (C, C), "normal", True), (p + "proj.b", (C,), "zeros", False),
                (p + "ln2.w", (C,), "ones", False), (p + "ln2.b", (C,), "zeros", False),
                (p + "fc.w", (Fd, C), "normal", True), (p + "fc.b", (Fd,), "zeros", False),
                (p + "fc2.w", (C, Fd), "normal", True), (p + "fc2.b", (C,), "zeros", False)]
    out += [("final.ln.w", (C,), "ones", False), ("final.ln.b", (C,), "zeros", False),
            ("out.bias", (cfg.num_items + 2,), "zeros", False)]
    return out


def init_params(cfg):
    """Identical to ParamBuffer::init(cfg.seed, cfg.init_std), as float32 numpy arrays."""
    import numpy as np
    params = {}
    for k, (name, shape, init, _) in enumerate(param_layout(cfg)):
        n = int(np.prod(shape))
        if init == "normal":
            z = normal_np(hash_combine(cfg.seed, k), n)
            w = (np.float64(np.float32(cfg.init_std)) * z).astype(np.float32)
        elif init == "ones":
            w = np.ones(n, np.float32)
        else:
            w = np.zeros(n, np.float32)
        params[name] = w.reshape(shape)
    return params


def init_params_torch(cfg):
    """init_params without numpy, as float32 torch tensors (the speed path's weights)."""
    params = {}
    for k, (name, shape, init, _) in enumerate(param_layout(cfg)):
        n = math.prod(shape)
        if init == "normal":
            w = (f32(cfg.init_std) * normal_torch(hash_combine(cfg.seed, k), n)).float()
        elif init == "ones":
            w = torch.ones(n)
        else:
            w = torch.zeros(n)
        params[name] = w.reshape(shape)
    return params


# ---------------------------------------------------------------- batches (core/batch.cpp)


def time_gap_bucket(gap, known, num_buckets):
    if not known or num_buckets <= 1:
        return 0
    b = 1 if gap <= 0 else 2 + (int(gap).bit_length() - 1)
    return min(b, num_buckets - 1)


def pack_sequences(seqs, cfg):
    """make_plain_batch: seqs = list of dicts {items, timestamps (or []), actions (or []), sample_id}."""
    T = cfg.max_len
    b = dict(cu_seqlens=[0], sample_id=[], item=[], position=[], action=[], gap=[], token_keys=[],
             target_rows=[], target_items=[])
    for s in seqs:
        items, ts, act = s["items"], s.get("timestamps", []), s.get("actions", [])
        keep = min(len(items), T)
        first = len(items) - keep
        for i in range(first, len(items)):
            pos = T - keep + (i - first)
            b["item"].append(int(items[i]))
            b["position"].append(pos)
            b["action"].append(int(act[i]) if len(act) else 0)
            known = len(ts) > 0 and i > 0
            b["gap"].append(time_gap_bucket(ts[i] - ts[i - 1] if known else 0, known, cfg.num_gap_buckets))
            b["token_keys"].append(hash_combine(s["sample_id"], pos))
        b["sample_id"].append(s["sample_id"])
        b["cu_seqlens"].append(len(b["item"]))
    return b


def cloze_batch(seqs, cfg, mask_prob, seed, epoch):
    """make_cloze_batch."""
    b = pack_sequences(seqs, cfg)
    stream_seed = hash_combine(seed, epoch)
    mask = cfg.num_items + 1
    p = f32(mask_prob)
    for s in range(len(seqs)):
        beg, end = b["cu_seqlens"][s], b["cu_seqlens"][s + 1]
        n = end - beg
        if n == 0:
            continue
        rng = Rng(stream_seed, b["sample_id"][s])
        rows = [beg + i for i in range(n) if rng.uniform() < p]
        if not rows:
            rows = [beg + rng.below(n)]
        for r in rows:
            b["target_rows"].append(r)
            b["target_items"].append(b["item"][r])
            b["item"][r] = mask
    return b


def padded(batch, cfg):
    """Packed batch → padded (B, T) nested lists, left-padded, plus the validity mask (the speed path
    makes torch tensors of them, the exact path numpy arrays: keys are uint64)."""
    B, T = len(batch["sample_id"]), cfg.max_len
    out = {k: [[0] * T for _ in range(B)] for k in ("item", "action", "gap")}
    keys = [[0] * T for _ in range(B)]
    valid = [[False] * T for _ in range(B)]
    local = [[0] * T for _ in range(B)]  # index of the token within its sequence
    where = {}  # packed row → (b, column)
    for s in range(B):
        beg, end = batch["cu_seqlens"][s], batch["cu_seqlens"][s + 1]
        for r in range(beg, end):
            col = batch["position"][r]
            for k in out:
                out[k][s][col] = batch[k][r]
            keys[s][col] = batch["token_keys"][r]
            valid[s][col] = True
            local[s][col] = r - beg
            where[r] = (s, col)
    rows = [where[r] for r in batch["target_rows"]]
    return out, keys, valid, local, rows


# ---------------------------------------------------------------- the model


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg.d_model
        self.ln1 = nn.LayerNorm(C, eps=cfg.layernorm_eps)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C, eps=cfg.layernorm_eps)
        self.fc = nn.Linear(C, 4 * C)
        self.gelu = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(4 * C, C)


class Bert4RecTwin(nn.Module):
    def __init__(self, cfg, exact=False):
        super().__init__()
        self.cfg, self.exact = cfg, exact
        C = cfg.d_model
        self.item = nn.Embedding(cfg.num_items + 2, C)
        self.pos = nn.Embedding(cfg.max_len, C)
        self.action = nn.Embedding(cfg.num_actions, C)
        self.gap = nn.Embedding(cfg.num_gap_buckets, C)
        self.emb_ln = nn.LayerNorm(C, eps=cfg.layernorm_eps)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.num_layers))
        self.final_ln = nn.LayerNorm(C, eps=cfg.layernorm_eps)
        self.out_bias = nn.Parameter(torch.zeros(cfg.num_items + 2))

    def named_flat(self):
        """seqmend parameter name → this model's tensor."""
        m = {"emb.item": self.item.weight, "emb.pos": self.pos.weight, "emb.action": self.action.weight,
             "emb.gap": self.gap.weight, "emb.ln.w": self.emb_ln.weight, "emb.ln.b": self.emb_ln.bias,
             "final.ln.w": self.final_ln.weight, "final.ln.b": self.final_ln.bias, "out.bias": self.out_bias}
        for l, blk in enumerate(self.blocks):
            p = f"block{l}."
            for short, mod in (("ln1", blk.ln1), ("qkv", blk.qkv), ("proj", blk.proj), ("ln2", blk.ln2),
                               ("fc", blk.fc), ("fc2", blk.fc2)):
                m[p + short + ".w"] = mod.weight
                m[p + short + ".b"] = mod.bias
        return m

    def load(self, params):
        """params: name → float32 numpy array (init_params) or torch tensor (init_params_torch)."""
        with torch.no_grad():
            for name, t in self.named_flat().items():
                p = params[name]
                if not isinstance(p, torch.Tensor):
                    import numpy as np
                    p = torch.from_numpy(np.ascontiguousarray(p))
                t.copy_(p.to(t.dtype))

    # -- dropout: exact masks from the hash, or PyTorch's own
    def _drop(self, x, p, site, keys, cols=None):
        if not self.training or p == 0.0:
            return x
        if not self.exact:
            return F.dropout(x, p, True)
        import numpy as np
        seed = dropout_site_seed(self.step_seed, site)
        if cols is None:
            cols = np.arange(x.shape[-1], dtype=np.uint64)
        keep = dropout_keep_np(p, seed, keys[..., None], cols)
        return x * torch.from_numpy(keep).to(x.dtype) / (1.0 - np.float64(np.float32(p)))

    def encode(self, item, pos, action, gap, valid, keys=None, local=None):
        """(B, T) int64 tensors → (B, T, C) encoder output (before the final LayerNorm)."""
        cfg = self.cfg
        B, T = item.shape
        C, NH = cfg.d_model, cfg.num_heads
        HS = C // NH
        x = self.item(item) + self.pos(pos) + self.action(action) + self.gap(gap)
        x = self._drop(self.emb_ln(x), cfg.emb_dropout, 0, keys)
        # (B, 1, 1, T) key padding; causal on columns (the same order as within a sequence)
        mask = ~valid[:, None, None, :]
        if cfg.causal:
            # A left-padding query sees no valid key; letting it see itself keeps its row (unused)
            # finite, so no NaN reaches the valid rows through attention's products.
            mask = (mask | torch.triu(torch.ones(T, T, dtype=torch.bool), 1)[None, None]) & \
                ~torch.eye(T, dtype=torch.bool)[None, None]
        attn_cols = None
        if self.exact and self.training and cfg.attn_dropout > 0:
            import numpy as np
            # column h·2^20 + j of query token (b, i): j is key's index within its sequence
            hcol = (np.arange(NH, dtype=np.uint64) << np.uint64(20))[None, :, None, None]
            attn_cols = hcol + local[:, None, None, :].astype(np.uint64)          # (B, NH, 1, T)
            attn_keys = np.broadcast_to(keys[:, None, :], (B, NH, T))            # (B, NH, T)
        for l, blk in enumerate(self.blocks):
            h = blk.ln1(x)
            q, k, v = blk.qkv(h).view(B, T, 3, NH, HS).permute(2, 0, 3, 1, 4)   # (B, NH, T, HS) each
            att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(HS))
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            if self.training and cfg.attn_dropout > 0:
                if self.exact:
                    import numpy as np
                    keep = dropout_keep_np(cfg.attn_dropout, dropout_site_seed(self.step_seed, 1 + 3 * l),
                                           attn_keys[..., None], attn_cols)
                    att = att * torch.from_numpy(keep).to(att.dtype) / (1.0 - np.float64(np.float32(cfg.attn_dropout)))
                else:
                    att = F.dropout(att, cfg.attn_dropout, True)
            y = torch.matmul(att, v).transpose(1, 2).reshape(B, T, C)
            x = x + self._drop(blk.proj(y), cfg.hidden_dropout, 2 + 3 * l, keys)
            h = blk.fc2(blk.gelu(blk.fc(blk.ln2(x))))
            x = x + self._drop(h, cfg.hidden_dropout, 3 + 3 * l, keys)
        return x

    def logits_at(self, x, rows_b, rows_t):
        """Final LayerNorm and tied output layer at the target rows only: (M, V) over items 1..V."""
        V = self.cfg.num_items
        h = self.final_ln(x[rows_b, rows_t])
        return F.linear(h, self.item.weight[1:V + 1], self.out_bias[1:V + 1])

    def loss(self, x, rows_b, rows_t, targets):
        return F.cross_entropy(self.logits_at(x, rows_b, rows_t), targets - 1)


# ---------------------------------------------------------------- the fixture


def fixture_data():
    cfg = Config(num_items=50, max_len=10, d_model=16, num_layers=2, num_heads=2, emb_dropout=0.1,
                 hidden_dropout=0.1, attn_dropout=0.1, num_actions=6, num_gap_buckets=8,
                 layernorm_eps=1e-5, init_std=0.2, objective="cloze", seed=42)
    seqs = [dict(items=[3, 17, 4, 50, 22, 9, 31, 8, 1, 44], timestamps=[100, 160, 160, 400, 5000, 5003, 9000,
                 86400, 90000, 100000], actions=[1, 2, 1, 3, 1, 1, 4, 2, 1, 5], sample_id=11),
            dict(items=[5, 6, 7], timestamps=[], actions=[], sample_id=12),
            dict(items=[42], timestamps=[1000], actions=[2], sample_id=13),
            dict(items=[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23], timestamps=[], actions=[],
                 sample_id=14)]
    return cfg, seqs, dict(mask_prob=0.4, seed=5, epoch=0), dict(
        lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.05, clip_norm=1.0, schedule="linear",
        warmup_steps=2, total_steps=12, min_lr=0.001, run_seed=77, steps=10)


def lr_at(step, o):
    """kernels/lr_schedule.cpp, linear schedule."""
    if step < o["warmup_steps"]:
        return o["lr"] * step / o["warmup_steps"]
    t = min(1.0, (step - o["warmup_steps"]) / (o["total_steps"] - o["warmup_steps"]))
    return o["min_lr"] + (o["lr"] - o["min_lr"]) * max(0.0, 1.0 - t)


def make_fixture(path):
    import numpy as np
    torch.set_default_dtype(torch.float64)
    cfg, seqs, cloze, opt = fixture_data()
    batch = cloze_batch(seqs, cfg, cloze["mask_prob"], cloze["seed"], cloze["epoch"])
    init = init_params(cfg)
    arr, keys, valid, local, rows = padded(batch, cfg)
    keys, local = np.array(keys, dtype=np.uint64), np.array(local, dtype=np.int64)
    T = cfg.max_len
    pos = np.tile(np.arange(T), (len(seqs), 1))
    inputs = [torch.from_numpy(np.array(arr["item"], np.int64)), torch.from_numpy(pos),
              torch.from_numpy(np.array(arr["action"], np.int64)), torch.from_numpy(np.array(arr["gap"], np.int64)),
              torch.from_numpy(np.array(valid, bool))]
    rb = torch.tensor([r[0] for r in rows])
    rt = torch.tensor([r[1] for r in rows])
    targets = torch.tensor(batch["target_items"])

    model = Bert4RecTwin(cfg, exact=True)
    model.load(init)
    named = model.named_flat()

    model.eval()
    with torch.no_grad():
        eval_logits = model.logits_at(model.encode(*inputs), rb, rt)

    model.train()
    decay = [t for n, t in named.items() if dict((p[0], p[3]) for p in param_layout(cfg))[n]]
    no_decay = [t for n, t in named.items() if not dict((p[0], p[3]) for p in param_layout(cfg))[n]]
    optim = torch.optim.AdamW([dict(params=decay, weight_decay=opt["weight_decay"]),
                               dict(params=no_decay, weight_decay=0.0)],
                              lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])
    losses, grads = [], None
    for step in range(opt["steps"]):
        model.step_seed = step_dropout_seed(opt["run_seed"], step)
        optim.zero_grad()
        loss = model.loss(model.encode(*inputs, keys=keys, local=local), rb, rt, targets)
        loss.backward()
        if step == 0:
            grads = {n: t.grad.detach().numpy().copy() for n, t in named.items()}
        torch.nn.utils.clip_grad_norm_(list(named.values()), opt["clip_norm"])
        for g in optim.param_groups:
            g["lr"] = lr_at(step, opt)
        optim.step()
        losses.append(loss.item())

    # 10 significant digits keep the fixture small and are far below the 1e-4 tolerance; initial
    # weights are float32 values, which 9 digits round-trip exactly.
    def flat(a):
        return [float("%.10g" % v) for v in np.asarray(a, np.float64).ravel()]

    def f32(a):
        return [float("%.9g" % v) for v in np.asarray(a, np.float32).ravel()]

    fx = dict(
        note="written by tools/torch_twin.py (PyTorch %s, float64); do not edit" % torch.__version__,
        config=cfg.as_dict(), cloze=cloze, optimizer=opt,
        sequences=seqs,
        batch={k: [str(v) for v in batch[k]] if k == "token_keys" else batch[k] for k in batch},
        init={n: f32(v) for n, v in init.items()},
        eval_logits=flat(eval_logits.numpy()),
        loss0=losses[0],
        grads={n: flat(g) for n, g in grads.items()},
        losses=losses)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(fx, f, separators=(",", ":"), default=float)
    print(f"wrote {path}: N={len(batch['item'])} M={len(batch['target_rows'])} loss0={losses[0]:.6f} "
          f"loss9={losses[-1]:.6f}")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    make_fixture(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "core", "fixtures",
                                                                     "torch_twin.json"))
