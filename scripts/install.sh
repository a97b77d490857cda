#!/usr/bin/env bash
# The first README command: install dependencies, build, and run the built-in default example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh ufm-sim   # the binary only; scripts/test.sh builds the tests
mkdir -p out
./build/ufm-sim --quiet --out out/default.json
python3 plots/summary.py out/default.json
