#!/usr/bin/env bash
# ufm-sim against the PyTorch reference, side by side (bench/README.md). Installs the
# benchmark-only packages if missing (python3-torch, python3-scipy for the flow anchor, and
# libopenblas0-pthread, without which
# Debian's torch falls back to the reference BLAS), builds bench/ufm-bench into ./build-bench
# (and, on an AVX-512 machine, its AVX2 build into ./build-bench-avx2) and runs bench/compare.py
# with the given arguments: by default the whole table (about 15 minutes);
# --quick for a one-second-per-run pass, --scaling to add the N and d scaling table.
# The table goes to stdout, the build log to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh python3-torch python3-scipy libopenblas0-pthread >&2
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DUFM_BUILD_BENCH=ON -DUFM_BUILD_TESTS=OFF >&2
cmake --build build-bench -j"$(nproc)" --target ufm-bench ufm-sim >&2
# On an AVX-512 machine, also the AVX2 code path (-march=x86-64-v3): compare.py adds its rows.
if grep -q avx512f /proc/cpuinfo; then
  cmake -S . -B build-bench-avx2 -DCMAKE_BUILD_TYPE=Release -DUFM_BUILD_BENCH=ON -DUFM_BUILD_TESTS=OFF \
        -DUFM_MARCH=x86-64-v3 >&2
  cmake --build build-bench-avx2 -j"$(nproc)" --target ufm-bench >&2
fi
exec /usr/bin/python3 bench/compare.py "$@"
