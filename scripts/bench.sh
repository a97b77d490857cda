#!/usr/bin/env bash
# ufm-sim against the PyTorch reference, side by side (bench/README.md). Installs the
# benchmark-only packages if missing (python3-torch, and libopenblas0-pthread, without which
# Debian's torch falls back to the reference BLAS), builds bench/ufm-bench into ./build-bench and
# runs bench/compare.py with the given arguments: by default the whole table (about 15 minutes);
# --quick for a one-second-per-run pass, --scaling to add the N and d scaling table.
# The table goes to stdout, the build log to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh python3-torch libopenblas0-pthread >&2
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DUFM_BUILD_BENCH=ON -DUFM_BUILD_TESTS=OFF >&2
cmake --build build-bench -j"$(nproc)" --target ufm-bench ufm-sim >&2
exec /usr/bin/python3 bench/compare.py "$@"
