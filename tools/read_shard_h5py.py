#!/usr/bin/python3
"""Reads a seqmend shard set with h5py and numpy only (no seqmend code), the way a user would
from io/FORMAT.md, validates it, and prints every sequence, one per line:

    <split> <shard> <n> user=<u>:<original user id> items=<i,i,...> [ts=...] [action=...] [label=...] [seq_label=<k>]

followed by `OK <sequences> sequences, <events> events`. Exits non-zero with a message naming the
file on any inconsistency (checksum, attributes, CSR offsets, id ranges).

Usage: /usr/bin/python3 tools/read_shard_h5py.py DIR [--quiet]
"""
import json
import os
import sys
import zlib

import h5py
import numpy as np

FORMAT_VERSION = 1


def fail(path, msg):
    sys.exit(f"{path}: {msg}")


def crc32_of(path):
    crc = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                return crc
            crc = zlib.crc32(block, crc)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    quiet = "--quiet" in sys.argv
    if len(args) != 1:
        sys.exit(__doc__)
    root = args[0]
    manifest_path = os.path.join(root, "manifest.json")
    with open(manifest_path) as f:
        m = json.load(f)
    if m["format_version"] != FORMAT_VERSION:
        fail(manifest_path, f"format version {m['format_version']}, expected {FORMAT_VERSION}")
    num_items = m["num_items"]
    user_ids = m["users"]["ids"]
    columns = m["columns"]
    optional = [c for c in ("timestamp", "action", "label") if c in columns]
    total_seq = total_ev = 0
    out = []
    for split in sorted(m["splits"]):
        n_in_split = 0
        for k, shard in enumerate(m["splits"][split]["shards"]):
            path = os.path.join(root, shard["file"])
            if shard["file"] != f"{split}-{k:05d}.h5":
                fail(path, f"unexpected shard name for {split} shard {k}")
            if os.path.getsize(path) != shard["bytes"]:
                fail(path, f"size {os.path.getsize(path)}, manifest says {shard['bytes']}")
            if crc32_of(path) != shard["crc32"]:
                fail(path, "checksum mismatch")
            with h5py.File(path, "r") as h:
                a = dict(h.attrs)  # copied: the file closes at the end of this block
                if a["format_version"] != FORMAT_VERSION or a["split"] != split or a["shard_index"] != k:
                    fail(path, f"attributes {a} do not match the manifest")
                offsets = h["offsets"][:]
                item = h["item"][:]
                user = h["user"][:]
                assert offsets.dtype == np.int64 and item.dtype == np.int32 and user.dtype == np.int64
                cols = {c: h[c][:] for c in optional}
                seq_label = h["seq_label"][:] if "seq_label" in columns else None
            n = len(offsets) - 1
            e = int(offsets[-1])
            if n != shard["sequences"] or e != shard["events"] or n != a["num_sequences"]:
                fail(path, "sequence/event counts disagree with the manifest")
            if offsets[0] != 0 or np.any(np.diff(offsets) < 0) or len(item) != e or len(user) != n:
                fail(path, "inconsistent CSR offsets")
            if e and (item.min() < 1 or item.max() > num_items):
                fail(path, "item id outside [1, num_items]")
            if user_ids and n and (user.min() < 0 or user.max() >= len(user_ids)):
                fail(path, "user id outside the user table")
            for c, v in cols.items():
                if len(v) != e:
                    fail(path, f"column {c} has {len(v)} entries for {e} events")
            for s in range(n):
                lo, hi = offsets[s], offsets[s + 1]  # sequence s owns events [lo, hi)
                u = int(user[s])
                parts = [split, str(k), str(n_in_split),
                         f"user={u}:{user_ids[u] if user_ids else ''}",
                         "items=" + ",".join(map(str, item[lo:hi]))]
                for c in optional:
                    parts.append(f"{c}=" + ",".join(map(str, cols[c][lo:hi])))
                if seq_label is not None:
                    parts.append(f"seq_label={int(seq_label[s])}")
                out.append(" ".join(parts))
                n_in_split += 1
            total_seq += n
            total_ev += e
    if not quiet:
        print("\n".join(out))
    print(f"OK {total_seq} sequences, {total_ev} events")


if __name__ == "__main__":
    main()
