#!/usr/bin/env bash
# Mixon, Parshall & Pi's strong neural collapse against the init scale sigma: unregularized,
# bias-free MSE UFM, gradient flow, d = K and d > K, sigma over four decades, 5 seeds.
#
# usage: experiments/mixon_snc/run.sh [--quick] [--out DIR] [--resume]
#   --resume: keep the points DIR/results.jsonl already holds and run only the rest (after a kill)
#   default DIR: experiments/mixon_snc/results (quick: experiments/mixon_snc/results/quick)
#   UFM_SIM names the binary (default build/ufm-sim, relative to the repository root).
# Writes DIR/results.jsonl (one line per point), DIR/trajectories/<id>.json (each point's whole
# trajectory), DIR/grid.json (the grid that ran) and DIR/meta.json.
set -euo pipefail
STUDY_FLAGS="--resume"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT

run_sweep_study
