"""Checks that the device bundle's programs can start on any x86-64 Linux whatever its C runtime.

The bundle carries its own glibc (the loader ld-linux-x86-64.so.2, libc, libm, libpthread, ...), and
tools/device-check starts every bundled program through that loader, so the GPU machine's glibc is
never used by our programs. That holds only if the bundle is closed: every library a bundled program,
library or OpenMPI component names (DT_NEEDED) travels in the bundle — or is one of the CUDA
libraries that must come from the GPU machine — and every symbol version it needs (GLIBC_2.34,
GLIBCXX_3.4.30, GCC_3.0, ...) is defined by the bundled file that provides it. The CUDA libraries
of this machine (HOST_LIB_DIR) are checked too: they are loaded into the same process, so their
GLIBC needs must be met by the bundled glibc (NVIDIA builds them against an old one).

usage: bundle_abi.py BUNDLE_DIR [HOST_LIB_DIR ...]   BUNDLE_DIR holds bin/ and lib/ (unpacked)
Prints one line per problem and exits 1 if there is any; else a summary and 0.
Standard library and readelf (binutils) only.
"""
import os
import re
import subprocess
import sys

# Libraries that must come from the GPU machine: they have to match its driver (libcuda, NVML) or
# come from its CUDA toolkit / PyTorch's nvidia-* wheels (tools/make-device-bundle.sh leaves them
# out). cuDNN loads nvrtc and nvJitLink at run time.
HOST = re.compile(r"^(libcuda\.so|libcudart\.so|libcublas(Lt)?\.so|libcudnn[a-z_]*\.so|libnccl\.so|libnvidia|"
                  r"libnvrtc|libnvJitLink)")
# Opened at run time (dlopen), so no DT_NEEDED names them, yet they share the process.
DLOPENED = ["libcudnn.so.9", "libnvrtc.so.13", "libnvJitLink.so.13"]
LOADER = "ld-linux-x86-64.so.2"


def read_elf(path):
    """(soname or None, [needed], {version defined}, [(file, version)] needed) of one ELF file."""
    out = subprocess.run(["readelf", "-d", "-V", "-W", path], capture_output=True, text=True)
    if out.returncode != 0:
        return None
    soname, needed, defs, needs = None, [], set(), []
    section, needs_file = None, None
    for line in out.stdout.splitlines():
        if line.startswith("Version definition section"):
            section = "def"
            continue
        if line.startswith("Version needs section"):
            section = "need"
            continue
        if line.startswith("Version symbols section") or line.startswith("Dynamic section"):
            section = None
        m = re.search(r"\((NEEDED|SONAME)\)\s+\S+ \S+: \[([^\]]+)\]", line)
        if m:
            if m.group(1) == "NEEDED":
                needed.append(m.group(2))
            else:
                soname = m.group(2)
            continue
        if section == "def":
            m = re.search(r"Flags: (\S+).*Name: (\S+)", line)
            if m and m.group(1) != "BASE":
                defs.add(m.group(2))
        elif section == "need":
            m = re.search(r"File: (\S+)", line)
            if m:
                needs_file = m.group(1)
                continue
            m = re.search(r"Name: (\S+)", line)
            if m and needs_file:
                needs.append((needs_file, m.group(1)))
    return soname, needed, defs, needs


def version_key(v):
    return tuple(int(x) for x in re.findall(r"\d+", v))


def newest(versions, prefix):
    vs = [v for v in versions if v.startswith(prefix) and re.match(re.escape(prefix) + r"\d", v)]
    return max(vs, key=version_key) if vs else None


def elf_files(root):
    for d, _, files in os.walk(root):
        for f in sorted(files):
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        yield p


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bundle, host_dirs = sys.argv[1], [d for d in sys.argv[2:] if os.path.isdir(d)]
    problems = []
    provided = {}  # soname → (path, defs) of the bundle's libraries
    elves = {}
    for sub in ("bin", "lib"):
        for p in elf_files(os.path.join(bundle, sub)):
            info = read_elf(p)
            if info is None:
                problems.append(f"{os.path.relpath(p, bundle)}: readelf cannot read it")
                continue
            elves[p] = info
            # Libraries are found by file name in lib/ (the loader's --library-path), the soname
            # being the same; components (lib/openmpi/) are opened by path and provide nothing.
            if os.path.dirname(p) == os.path.join(bundle, "lib"):
                provided[os.path.basename(p)] = (p, info[2])
    if LOADER not in provided or "libc.so.6" not in provided:
        problems.append(f"the bundle carries no {LOADER} or libc.so.6: its programs would run on the machine's "
                        "own C runtime")

    host_needed = set(DLOPENED)

    def check(path, info, where):
        _, needed, _, needs = info
        for n in needed:
            if n in provided or n == LOADER:
                continue
            if HOST.match(n):
                host_needed.add(n)
            else:
                problems.append(f"{where}: needs {n}, which neither travels in the bundle nor is a CUDA "
                                "library of the GPU machine")
        for f, v in needs:
            if f in provided and v not in provided[f][1]:
                have = newest(provided[f][1], re.sub(r"[\d.]+$", "", v)) or "none of that kind"
                problems.append(f"{where}: needs {v} from {f}; the bundle's {f} provides up to {have}")

    for p, info in elves.items():
        check(p, info, os.path.relpath(p, bundle))

    # The CUDA libraries of this machine, and what they load in turn, share the process on the GPU
    # machine too: their needs must be met by the bundled C runtime.
    host_checked, host_missing, seen = [], [], set()
    todo = sorted(host_needed)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = next((os.path.join(d, name) for d in host_dirs if os.path.exists(os.path.join(d, name))), None)
        if path is None:
            host_missing.append(name)
            continue
        info = read_elf(os.path.realpath(path))
        if info is None:
            continue
        host_checked.append(name)
        # A non-CUDA library it names (libz, say) must travel in the bundle like our own needs.
        check(path, info, f"{path} (from this machine's CUDA)")
        todo.extend(n for n in info[1] if HOST.match(n) and n not in seen)

    glibc_have = newest(provided.get("libc.so.6", ("", set()))[1], "GLIBC_")
    glibc_need = newest({v for info in elves.values() for _, v in info[3]}, "GLIBC_")
    cxx_need = newest({v for info in elves.values() for _, v in info[3]}, "GLIBCXX_")
    for line in problems:
        print("bundle_abi: " + line)
    n_bin = sum(1 for p in elves if os.sep + "bin" + os.sep in p)
    print(f"bundle_abi: {n_bin} programs, {len(elves) - n_bin} libraries and components; the bundled glibc "
          f"provides up to {glibc_have}, the bundle needs up to {glibc_need} (and {cxx_need}); CUDA libraries "
          f"checked from {':'.join(host_dirs) or '(no host directory given)'}: {' '.join(sorted(host_checked)) or 'none'}"
          + (f"; not found here: {' '.join(sorted(host_missing))}" if host_missing else ""))
    print(f"bundle_abi: {'FAILED, ' + str(len(problems)) + ' problems' if problems else 'ok'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
