#!/usr/bin/env bash
# The first README command: install dependencies, build, and run the built-in default example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh
mkdir -p out
./build/ufm-sim --quiet --out out/default.json
python3 plots/summary.py out/default.json
