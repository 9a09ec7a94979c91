#!/usr/bin/env bash
# The device check's PyTorch peer (tools/device/train_bench_torch.py, with tools/bench_vs_torch.py and
# tools/torch_twin.py) must run on a GPU machine whose Python has PyTorch but no numpy (pip's PyTorch
# does not require it). With numpy made unimportable (sys.modules["numpy"] = None, so any import of it
# raises ImportError) this runs the peer's whole import path and one of its training steps on the CPU
# on a small config, then the peer script itself as device-check starts it (on a machine without a
# GPU it stops after its imports, saying so). The CPU speed peer (tools/torch_standard.py, stock
# nn.TransformerEncoderLayer) must train the same function as the twin: from the same weights at
# dropout 0, its first AdamW steps' losses equal the twin's. Where numpy is there too, the peer's weights
# (init_params_torch, torch int64) are checked bit for bit against the exact numpy twin's
# (init_params, ParamBuffer::init's values).
#   torch_peer_test.sh          (ctest device_torch_peer_without_numpy, label integration)
# Skips (exit 77) where no Python here has PyTorch: there is no peer to run.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
py=
for cand in ${PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import torch' 2>/dev/null; then
    py=$cand
    break
  fi
done
if [[ -z $py ]]; then
  echo "device_torch_peer_without_numpy: skipped — no Python here has PyTorch (tried ${PYTHON:+$PYTHON, }python3," \
       "/usr/bin/python3), so the PyTorch peer cannot be run"
  exit 77
fi
echo "device_torch_peer_without_numpy: $($py -c 'import sys, torch; print(sys.executable, "torch", torch.__version__)')"
fail() {
  echo "device_torch_peer_without_numpy: FAILED — $*" >&2
  exit 1
}

"$py" - "$ROOT" <<'PYEOF' || fail "the peer's import path or its training step needs numpy (above)"
import math
import os
import sys
import warnings

sys.modules["numpy"] = None  # any "import numpy" now raises ImportError
warnings.simplefilter("ignore")  # torch warns once that it could not load numpy
root = sys.argv[1]
sys.path[:0] = [os.path.join(root, "tools", "device"), os.path.join(root, "tools")]
import torch  # noqa: E402

import bench_vs_torch as bv  # noqa: E402
import torch_standard  # noqa: E402
import torch_twin as tw  # noqa: E402
import train_bench_torch  # noqa: E402,F401

cfg = tw.Config(num_items=60, d_model=16, num_layers=2, num_heads=2, max_len=24, emb_dropout=0.1,
                hidden_dropout=0.1, attn_dropout=0.1)
batches = bv.synthetic_batches(cfg, 8)
flops = bv.useful_flops(cfg, batches[0])
ts = bv.TorchStep(cfg, batches, device="cpu")
losses = [ts.step() for _ in range(3)]
assert all(math.isfinite(x) for x in losses) and flops > 0, (losses, flops)
assert sys.modules["numpy"] is None, "numpy was imported"
print(f"peer without numpy: batch checksum {bv.checksum(batches):.0f}, {flops:.3g} FLOPs, losses "
      + " ".join(f"{x:.4f}" for x in losses))
twin, std = torch_standard.check_against_twin()
assert sys.modules["numpy"] is None, "numpy was imported"
print("standard peer = twin at dropout 0: losses " + " ".join(f"{x:.6f}" for x in std))
PYEOF

# The script itself, as device-check runs it (no GPU here: it stops after its imports).
out=$("$py" -c 'import runpy, sys, warnings
sys.modules["numpy"] = None
warnings.simplefilter("ignore")
sys.argv = [sys.argv[1], sys.argv[2]]
runpy.run_path(sys.argv[0], run_name="__main__")' "$ROOT/tools/device/train_bench_torch.py" "$(mktemp -u)" 2>&1)
rc=$?
echo "$out" | tail -n 3
((rc == 0)) || fail "train_bench_torch.py exit $rc without numpy"

if "$py" -c 'import numpy' 2>/dev/null; then
  "$py" - "$ROOT" <<'PYEOF' || fail "the peer's weights differ from the exact twin's"
import os
import sys

sys.path.insert(0, os.path.join(sys.argv[1], "tools"))
import torch  # noqa: E402

import torch_twin as tw  # noqa: E402

cfg = tw.Config(num_items=3706, d_model=64, num_layers=2, num_heads=2, max_len=200)  # benchmark config a
exact, peer = tw.init_params(cfg), tw.init_params_torch(cfg)
n = sum(v.size for v in exact.values())
bad = {k: int((torch.from_numpy(exact[k]) != peer[k]).sum()) for k in exact}
assert not any(bad.values()), {k: v for k, v in bad.items() if v}
print(f"peer weights: all {n} values equal to the exact twin's (numpy)")
PYEOF
else
  echo "device_torch_peer_without_numpy: no numpy here: the peer's weights are not compared with the exact twin's"
fi
echo "device_torch_peer_without_numpy: passed"
