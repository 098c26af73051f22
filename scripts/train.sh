#!/usr/bin/env bash
# The main job: install dependencies, build lif (Release), and train the
# reference recipe (configs/lif_fc_mnist.json: 784 -> 10 LIF, T 100, batch
# 64, Adam 1e-3, tau 2) on Debian's Fashion-MNIST for 5 epochs. Extra
# arguments go to `lif train` and override these (e.g. -epochs 100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target lif_cli >/dev/null
exec build/lif train --config configs/lif_fc_mnist.json -epochs 5 \
  -data-dir /usr/share/datasets/fashion-mnist -out-dir runs "$@"
