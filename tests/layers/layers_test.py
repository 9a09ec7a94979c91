#!/usr/bin/env python3
"""The include rule of ARCHITECTURE.md ("Layers"): a file may include its own layer and the layers
it builds on, never one above or beside it. Such an include would compile (one include path for the
whole tree), so this test reads every #include.
  layers_test.py SOURCE_ROOT   exits 1 listing each include that breaks the rule."""
import pathlib
import re
import sys

# What each layer may include besides itself (ARCHITECTURE.md, "Layers"). io, kernels and
# distributed sit side by side on the base; core builds on kernels and io; the experiment libraries
# follow the order experiments/CMakeLists.txt links them in, each seeing everything below it.
LIBRARY = ["core/base", "io", "kernels", "distributed", "core"]
EXPERIMENTS = ["experiments/run", "experiments/eval", "experiments/train", "experiments/detect",
               "experiments/repair", "experiments/cli"]
MAY_INCLUDE = {
    "core/base": set(),
    "io": {"core/base"},
    "kernels": {"core/base"},
    "distributed": {"core/base"},
    "core": {"core/base", "kernels", "io"},
}
for i, layer in enumerate(EXPERIMENTS):
    MAY_INCLUDE[layer] = set(LIBRARY) | set(EXPERIMENTS[:i])
ORDER = LIBRARY + EXPERIMENTS


def layer_of(rel: str):
    best = None
    for layer in ORDER:
        if rel == layer or rel.startswith(layer + "/"):
            if best is None or len(layer) > len(best):
                best = layer
    return best


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    bad, checked = [], 0
    for path in sorted(root.glob("**/*")):
        if path.suffix not in (".h", ".cpp", ".cu") or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        own = layer_of(rel)
        if own is None or rel.startswith(("build", "tests/", "bench/")):
            continue
        checked += 1
        for inc in include.findall(path.read_text(encoding="utf-8", errors="replace")):
            other = layer_of(inc)
            if other is None:
                continue
            if other != own and other not in MAY_INCLUDE[own]:
                bad.append(f"{rel} ({own}) includes {inc} ({other})")
    for b in bad:
        print(b)
    print(f"layers: {checked} files checked, {len(bad)} includes break the rule")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
