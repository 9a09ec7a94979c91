#!/usr/bin/python3
"""seqmend's BERT4Rec written as a PyTorch user would write it: the speed peer of
tools/bench_vs_torch.py. tools/torch_twin.py stays the exactness reference (its own attention and
layer code, hash-exact dropout); this model is built from PyTorch's stock parts instead, so the
comparison is against what PyTorch itself offers for this model:

* nn.Embedding tables for items (0 pad, 1..V items, V + 1 mask token), positions, actions and time
  gaps (seqmend's input layer has all four; the benchmark's batches have no actions or timestamps,
  so the last two are index 0 everywhere, as they are in seqmend), summed, nn.LayerNorm, nn.Dropout;
* nn.TransformerEncoder of nn.TransformerEncoderLayer(d_model, nhead, 4 · d_model, dropout,
  GELU, batch_first=True, norm_first=True), on the padded (B, T) batch with src_key_padding_mask;
* at the masked rows only: the final nn.LayerNorm, the output layer tied to the item embedding
  (items 1..V, plus a bias), F.cross_entropy over all items;
* torch.optim.AdamW (no weight decay on biases and LayerNorm, as seqmend), clip_grad_norm_(1.0).

Where the stock layer differs from seqmend's block, the peer is set to seqmend's math, never to
more work: GELU's tanh form (seqmend's; the layer's 'gelu' is the erf form, the same cost) and no
dropout between the FFN's two linears (the stock layer has one there, seqmend does not). Both
engines then train the same function, so with the same weights (init_params_torch, seqmend's own
initial values) their losses agree at dropout 0.

Needs no numpy (the GPU machine's Python may lack it), like torch_twin's speed path.
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_twin as tw  # noqa: E402


class StandardBert4Rec(nn.Module):
    def __init__(self, cfg, dropout):
        super().__init__()
        self.cfg = cfg
        C, V = cfg.d_model, cfg.num_items
        self.item = nn.Embedding(V + 2, C, padding_idx=0)
        self.pos = nn.Embedding(cfg.max_len, C)
        self.action = nn.Embedding(cfg.num_actions, C)
        self.gap = nn.Embedding(cfg.num_gap_buckets, C)
        self.emb_ln = nn.LayerNorm(C, eps=cfg.layernorm_eps)
        self.emb_drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(C, cfg.num_heads, dim_feedforward=4 * C, dropout=dropout,
                                           activation=nn.GELU(approximate="tanh"),
                                           layer_norm_eps=cfg.layernorm_eps, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.num_layers)
        for blk in self.encoder.layers:
            blk.dropout = nn.Identity()  # seqmend has no dropout inside the FFN
        self.final_ln = nn.LayerNorm(C, eps=cfg.layernorm_eps)
        self.out_bias = nn.Parameter(torch.zeros(V + 2))

    def forward(self, item, action, gap, pad):
        """(B, T) int64 ids, pad (B, T) bool, True at padding → (B, T, C)."""
        pos = torch.arange(item.shape[1], device=item.device)
        x = self.item(item) + self.pos(pos) + self.action(action) + self.gap(gap)
        return self.encoder(self.emb_drop(self.emb_ln(x)), src_key_padding_mask=pad)

    def loss(self, x, rows_b, rows_t, targets):
        V = self.cfg.num_items
        h = self.final_ln(x[rows_b, rows_t])
        return F.cross_entropy(F.linear(h, self.item.weight[1:V + 1], self.out_bias[1:V + 1]), targets - 1)

    def twin_names(self):
        """seqmend's parameter names (tw.param_layout) → this model's tensors, to start from seqmend's
        initial weights."""
        m = {"emb.item": self.item.weight, "emb.pos": self.pos.weight, "emb.action": self.action.weight,
             "emb.gap": self.gap.weight, "emb.ln.w": self.emb_ln.weight, "emb.ln.b": self.emb_ln.bias,
             "final.ln.w": self.final_ln.weight, "final.ln.b": self.final_ln.bias, "out.bias": self.out_bias}
        for l, blk in enumerate(self.encoder.layers):
            p = f"block{l}."
            m.update({p + "ln1.w": blk.norm1.weight, p + "ln1.b": blk.norm1.bias,
                      p + "qkv.w": blk.self_attn.in_proj_weight, p + "qkv.b": blk.self_attn.in_proj_bias,
                      p + "proj.w": blk.self_attn.out_proj.weight, p + "proj.b": blk.self_attn.out_proj.bias,
                      p + "ln2.w": blk.norm2.weight, p + "ln2.b": blk.norm2.bias,
                      p + "fc.w": blk.linear1.weight, p + "fc.b": blk.linear1.bias,
                      p + "fc2.w": blk.linear2.weight, p + "fc2.b": blk.linear2.bias})
        return m

    def load_twin(self, params):
        with torch.no_grad():
            for name, t in self.twin_names().items():
                t.copy_(params[name])


def adamw_kind():
    """The fastest AdamW implementation this PyTorch has on the CPU: fused where it exists (2.4 and
    later), else the multi-tensor one (1.13's default on the CPU is the slower per-tensor loop)."""
    p = torch.zeros(4, requires_grad=True)
    p.grad = torch.ones(4)
    try:
        torch.optim.AdamW([p], fused=True).step()
        return dict(fused=True)
    except (RuntimeError, TypeError, ValueError):
        return dict(foreach=True)


def inputs(b, cfg, device="cpu"):
    """A packed batch (tw.cloze_batch) → the padded tensors the model takes, and the target rows."""
    arr, _, valid, _, rows = tw.padded(b, cfg)
    x = [torch.tensor(arr[k], dtype=torch.int64) for k in ("item", "action", "gap")]
    x.append(~torch.tensor(valid, dtype=torch.bool))
    rest = [torch.tensor([r[0] for r in rows]), torch.tensor([r[1] for r in rows]), torch.tensor(b["target_items"])]
    return [t.to(device) for t in x], *(t.to(device) for t in rest)


class StandardStep:
    """One training step of the standard model on a fixed cycle of batches."""

    def __init__(self, cfg, batches, dropout, device="cpu", lr=1e-3, weight_decay=0.01, clip=1.0):
        self.model = StandardBert4Rec(cfg, dropout)
        self.model.load_twin(tw.init_params_torch(cfg))
        self.model.to(device).train()
        names = self.model.twin_names()
        decay = {p[0] for p in tw.param_layout(cfg) if p[3]}
        self.params = list(self.model.parameters())
        assert len(self.params) == len(names), "a parameter is missing from twin_names"
        groups = [dict(params=[t for n, t in names.items() if n in decay], weight_decay=weight_decay),
                  dict(params=[t for n, t in names.items() if n not in decay], weight_decay=0.0)]
        self.opt = torch.optim.AdamW(groups, lr=lr, **adamw_kind())
        self.clip = clip
        self.inputs = [inputs(b, cfg, device) for b in batches]
        self.k = 0

    def step(self):
        x, rb, rt, tgt = self.inputs[self.k % len(self.inputs)]
        self.k += 1
        self.opt.zero_grad(set_to_none=True)
        loss = self.model.loss(self.model(*x), rb, rt, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, self.clip)
        self.opt.step()
        return loss.item()  # seqmend's step reads its loss back too


def check_against_twin():
    """The standard model and the twin (exact=False, dropout 0) from the same weights on the same
    batches: the first step's loss and the losses of a few AdamW steps agree to float32 rounding."""
    import bench_vs_torch as bv
    cfg = tw.Config(num_items=60, d_model=16, num_layers=2, num_heads=2, max_len=24, emb_dropout=0.0,
                    hidden_dropout=0.0, attn_dropout=0.0)
    batches = bv.synthetic_batches(cfg, 8)
    torch.manual_seed(0)
    twin = bv.TorchStep(cfg, batches)
    std = StandardStep(cfg, batches, 0.0)
    a = [twin.step() for _ in range(4)]
    b = [std.step() for _ in range(4)]
    for x, y in zip(a, b):
        assert math.isclose(x, y, rel_tol=1e-4), (a, b)
    return a, b


if __name__ == "__main__":
    a, b = check_against_twin()
    print("twin     " + " ".join(f"{x:.6f}" for x in a))
    print("standard " + " ".join(f"{x:.6f}" for x in b))
