#!/usr/bin/env python3
"""Checks lif autotune against an exhaustive sweep, on this machine.

For one problem (the reference recipe by default; -T, --hidden, the data
set or a density), it
  1. runs `lif autotune` (default mode and budget, or the ones given) into a
     fresh wisdom file, and times it;
  2. runs one interleaved `lif bench` over every row that can differ: each
     backend (scalar, simd, openmp, onednn, onednn+openmp), each SIMD variant
     of the linear kernels forced by name (alone, and inside openmp), every
     thread count from 1 to the physical cores, the untuned default
     (`default`: --backend auto without wisdom) and the tuned plan (`auto`:
     --backend auto with the new wisdom);
  3. prints the table sorted by training speed, and the verdict: the tuned
     plan's training images/s over the fastest row's (acceptance: >= 0.95)
     and over the untuned default's (acceptance: >= 1, within the run's
     noise).

Everything runs side by side in one `lif bench` run (repetitions
interleaved), so the ratios do not depend on the host's drift. Only the
standard library; the lif binary is build/lif unless --lif says otherwise.

usage: scripts/autotune_sweep.py [--lif PATH] [-T N] [--hidden N]
                                 (--data DIR | --density D)
                                 [--reps N] [--batches N] [--budget S]
                                 [--mode M] [--out DIR]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

OPS = ("encode", "linear_fwd", "linear_bwd_w", "linear_bwd_x")


def backends_here(lif):
    """The backends this build and CPU can run (lif info's 'available' lines)."""
    out = subprocess.run([lif, "info"], check=True, capture_output=True, text=True).stdout
    return [m.group(1) for m in re.finditer(r"^  (\w+) +available\b", out, re.M)]


def kernels_here(lif):
    """The SIMD kernels of the ops swept that this CPU runs (lif info's
    ranked lines; a kernel that cannot run here says 'cannot')."""
    out = subprocess.run([lif, "info"], check=True, capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        m = re.match(r"\s+((\w+)/simd/\w+)\s+rank \d+", line)
        if m and m.group(2) in OPS:
            found.append(m.group(1))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lif", default="build/lif")
    ap.add_argument("-T", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=0)
    ap.add_argument("--data", help="MNIST-format IDX folder (default: Debian's Fashion-MNIST)")
    ap.add_argument("--density", type=float, help="synthetic images of this density instead")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batches", type=int, default=5)
    ap.add_argument("--budget", type=float, help="lif autotune --budget (its default: 30 s)")
    ap.add_argument("--mode", help="lif autotune --mode (its default: measure)")
    ap.add_argument("--threads", default=None, help="thread counts to sweep (default: 1..cores)")
    ap.add_argument("--out", help="folder for the wisdom, the bench JSON and the logs")
    a = ap.parse_args()
    if not os.access(a.lif, os.X_OK):
        sys.exit(f"autotune_sweep: {a.lif}: no lif binary there (build first, or --lif PATH)")
    if a.data and a.density:
        sys.exit("autotune_sweep: give --data or --density, not both")
    data = a.data or (None if a.density else "/usr/share/datasets/fashion-mnist")
    out = a.out or tempfile.mkdtemp(prefix="lif-sweep-")
    os.makedirs(out, exist_ok=True)
    wisdom = os.path.join(out, "wisdom.json")
    if os.path.exists(wisdom):
        os.remove(wisdom)
    env = dict(os.environ, LIF_WISDOM=wisdom)

    problem = ["-T", str(a.T), "-b", "64"]
    if a.hidden:
        problem += ["--hidden", str(a.hidden)]

    # 1. the tuner, timed
    tune = [a.lif, "autotune"] + problem + (["-data-dir", data] if data else ["--density", str(a.density)])
    if a.budget:
        tune += ["--budget", str(a.budget)]
    if a.mode:
        tune += ["--mode", a.mode]
    print("$ " + " ".join(tune), flush=True)
    t0 = time.monotonic()
    r = subprocess.run(tune, env=env, capture_output=True, text=True)
    took = time.monotonic() - t0
    with open(os.path.join(out, "autotune.log"), "w") as f:
        f.write(r.stdout + r.stderr)
    print(r.stdout, end="")
    if r.returncode != 0:
        sys.exit(f"autotune_sweep: lif autotune failed (exit {r.returncode}):\n{r.stderr}")
    print(f"autotune took {took:.1f} s (wall clock)\n", flush=True)

    # 2. the sweep
    info = subprocess.run([a.lif, "info"], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}).stdout
    m = re.search(r"threads: (\d+) by default", info)
    cores = int(m.group(1)) if m else 1
    # lif bench takes at most 8 thread counts: 1, 2, 4, ... and the core count
    counts = sorted({min(1 << k, cores) for k in range(0, 7)} | {cores})
    threads = a.threads or ",".join(str(t) for t in counts[:8])
    have = backends_here(a.lif)
    rows = ["default", "auto"] + [b for b in ("scalar", "simd", "openmp", "onednn") if b in have]
    if "onednn" in have and "openmp" in have:
        rows.append("onednn+openmp")
    if "simd" in have:
        for k in kernels_here(a.lif):
            op = k.split("/")[0]
            if op == "linear_bwd_x" and not a.hidden:
                continue
            rows.append(f"simd@{k}")
            if "openmp" in have:
                rows.append(f"openmp@{op}/openmp/omp@{k}")
    js = os.path.join(out, "bench.json")
    bench = [a.lif, "bench", "--backend", ",".join(rows), "--threads", threads,
             "-reps", str(a.reps), "-batches", str(a.batches), "-T", str(a.T), "--json", js]
    bench += ["-data", data] if data else ["--density", str(a.density)]
    if a.hidden:
        bench += ["--hidden", str(a.hidden)]
    print("$ LIF_WISDOM=" + wisdom + " " + " ".join(bench), flush=True)
    t0 = time.monotonic()
    r = subprocess.run(bench, env=env, capture_output=True, text=True)
    with open(os.path.join(out, "bench.log"), "w") as f:
        f.write(r.stdout + r.stderr)
    if r.returncode != 0:
        sys.exit(f"autotune_sweep: lif bench failed (exit {r.returncode}):\n{r.stderr}")
    print(f"(sweep: {len(rows)} rows x threads {threads}, {time.monotonic() - t0:.0f} s; "
          f"table and kernels per row in {out}/bench.log)\n")

    # 3. the verdict
    with open(js) as f:
        res = [b for b in json.load(f)["backends"] if b.get("train_images_per_s")]
    res.sort(key=lambda b: -b["train_images_per_s"]["median"])
    best = res[0]

    def find(name):
        rows_named = [b for b in res if b["name"] == name]
        if not rows_named:
            sys.exit(f"autotune_sweep: the sweep has no '{name}' row (see {out}/bench.log)")
        return max(rows_named, key=lambda b: b["train_images_per_s"]["median"])

    tuned, untuned = find("auto"), find("default")
    print(f"{'row':60s} {'threads':>7s} {'train img/s':>12s} {'test img/s':>11s}")
    for b in res[:12] + [b for b in res[12:] if b["name"] in ("auto", "default")]:
        print(f"{b['name']:60s} {b['threads']:7d} {b['train_images_per_s']['median']:12.1f} "
              f"{b['test_images_per_s']['median']:11.1f}")
    tr = lambda b: b["train_images_per_s"]["median"]
    print(f"\nfastest row: {best['name']} at {best['threads']} thread(s), {tr(best):.1f} img/s")
    print(f"tuned (auto, {tuned['threads']} threads): {tr(tuned):.1f} img/s = "
          f"{tr(tuned) / tr(best):.3f} of the fastest (acceptance >= 0.95)")
    print(f"untuned default ({untuned['threads']} threads): {tr(untuned):.1f} img/s; "
          f"tuned / untuned = {tr(tuned) / tr(untuned):.3f} (acceptance >= 1, noise about +-5 %)")
    print(f"autotune took {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
