#!/usr/bin/env python3
"""Writes a copy of an MNIST-format IDX folder whose images are thinned to a
target spike density (mean pixel / 255): every pixel below a threshold becomes
0, the threshold chosen so that the training images' mean density is closest
to the target. Labels are copied as they are.

lif's speed depends on the input density (its event-driven, skip and
time-lanes kernels leave out silent inputs); the reference framework's does
not. This makes data of MNIST's density (0.13) out of Debian's Fashion-MNIST
(0.29), for side-by-side runs where real MNIST is not at hand:

    python3 scripts/thin_idx.py /usr/share/datasets/fashion-mnist /tmp/fashion-thin 0.13
    ../shared/reference/side_by_side.sh build/lif /tmp/fashion-thin 3 -- --threads 1

Standard library only (gzip, struct)."""
import gzip
import os
import struct
import sys

FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def read(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def find(folder, name):
    for p in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.exists(p):
            return p
    sys.exit("thin_idx: %s: no %s(.gz)" % (folder, name))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: thin_idx.py IN_DIR OUT_DIR DENSITY")
    src, dst, target = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if not 0 < target < 1:
        sys.exit("thin_idx: DENSITY must lie in (0, 1), got %s" % sys.argv[3])
    data = {n: read(find(src, n)) for n in FILES}
    for n in FILES:
        magic = struct.unpack(">I", data[n][:4])[0]
        if magic not in (2049, 2051):
            sys.exit("thin_idx: %s: not an IDX file (magic %d)" % (n, magic))
    train = data["train-images-idx3-ubyte"][16:]
    hist = [0] * 256
    for v in train:
        hist[v] += 1
    total = len(train) * 255.0
    best, best_err = 0, None
    for thr in range(256):  # pixels < thr become 0
        dens = sum(v * hist[v] for v in range(thr, 256)) / total
        if best_err is None or abs(dens - target) < best_err:
            best, best_err = thr, abs(dens - target)
    table = bytes(v if v >= best else 0 for v in range(256))
    os.makedirs(dst, exist_ok=True)
    for n in FILES:
        d = data[n]
        if n.endswith("idx3-ubyte"):
            d = d[:16] + d[16:].translate(table)
        with gzip.open(os.path.join(dst, n + ".gz"), "wb", compresslevel=1) as f:
            f.write(d)
    kept = sum(v * hist[v] for v in range(best, 256)) / total
    zeros = sum(hist[:best]) / len(train)
    print("thin_idx: pixels below %d set to 0: density %.3f (target %.3f), %.0f %% zeros"
          % (best, kept, target, 100 * zeros))


if __name__ == "__main__":
    main()
