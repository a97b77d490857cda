#!/usr/bin/env bash
# Installs ufm-sim's Debian 12 build and plot dependencies (apt only; nothing is downloaded at build time).
# Extra package names given as arguments are installed too (scripts/bench.sh adds PyTorch's).
set -euo pipefail
packages=(g++ cmake make libeigen3-dev libboost-dev libcli11-dev nlohmann-json3-dev libopenblas0-pthread
          libgtest-dev libgmock-dev libomp-dev zlib1g-dev python3 python3-numpy python3-matplotlib
          dataset-fashion-mnist slurm-wlm munge "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
