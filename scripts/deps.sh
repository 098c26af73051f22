#!/usr/bin/env bash
# Installs what lif needs to build, test and train, from Debian 12's
# packages. Does nothing when everything is already there.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      zlib1g-dev libjansson-dev librandom123-dev libbenchmark-dev
      libhwloc-dev libdnnl-dev libomp-14-dev libhdf5-dev libplplot-dev
      plplot-driver-cairo libfuzzer-14-dev dataset-fashion-mnist)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
