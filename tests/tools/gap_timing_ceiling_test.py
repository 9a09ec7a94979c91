#!/usr/bin/python3
"""tools/gap_timing_ceiling.py against cases whose answer is known: a Poisson log (independent
exponential intervals) must give the closed-form 1 - 2^-(k+1) mix, a log whose intervals are all
0 s must give chance, and a bad file must name its line."""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

TOOL = os.path.join(sys.argv[1], "tools", "gap_timing_ceiling.py")


def run(path, *extra):
    return subprocess.run([sys.executable, TOOL, path, *extra], capture_output=True, text=True)


def figures(out):
    oracle = float(re.search(r"clean intervals known: ([0-9.]+)", out).group(1))
    poisson = float(re.search(r"Poisson process: ([0-9.]+)", out).group(1))
    return oracle, poisson


def write_log(path, users, intervals):
    with open(path, "w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for u in range(users):
            t = np.concatenate([[0.0], np.cumsum(intervals(u))])
            for i, ts in enumerate(t):
                f.write(f"{u}\t{i}\t{ts:.6f}\n")


def main():
    rng = np.random.default_rng(3)
    failures = []
    with tempfile.TemporaryDirectory() as d:
        poisson_log = os.path.join(d, "poisson.inter")
        write_log(poisson_log, 300, lambda u: rng.exponential(10.0 * (u + 1), size=200))
        r = run(poisson_log)
        if r.returncode != 0:
            failures.append(f"Poisson log: exit {r.returncode}: {r.stderr}")
        else:
            oracle, poisson = figures(r.stdout)
            if abs(poisson - 0.793) > 0.001:
                failures.append(f"Poisson reference {poisson}, want 0.793 (runs 1/2/3 at 0.7/0.21/0.09)")
            if abs(oracle - poisson) > 0.01:
                failures.append(f"Poisson log gives {oracle}, want the closed form {poisson} within 0.01")
        r = run(poisson_log, "--delete-cascade", "0", "--max-run", "1")
        if r.returncode == 0 and abs(figures(r.stdout)[0] - 0.75) > 0.01:
            failures.append(f"single deletions on a Poisson log give {figures(r.stdout)[0]}, want 0.75")

        burst_log = os.path.join(d, "bursts.inter")
        write_log(burst_log, 50, lambda u: np.zeros(40))
        r = run(burst_log)
        if r.returncode != 0 or abs(figures(r.stdout)[0] - 0.5) > 1e-9:
            failures.append(f"all-0 s intervals: {r.stdout} {r.stderr}, want 0.500")

        header = "user_id:token\titem_id:token\ttimestamp:float\n"
        bad_files = {  # name: (contents, what stderr must say)
            "bad.inter": (header + "1\t2\t100\n1\t3\tsoon\n", "bad.inter:3: timestamp 'soon'"),
            "no_ts.inter": ("user_id:token\titem_id:token\n1\t2\n", "no_ts.inter:1: no 'timestamp' column"),
        }
        for name, (text, want) in bad_files.items():
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write(text)
            r = run(path)
            if r.returncode == 0 or want not in r.stderr:
                failures.append(f"{name}: exit {r.returncode}, stderr {r.stderr!r}, want {want!r}")
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
