#!/usr/bin/env bash
# Papyan, Han & Donoho's four neural-collapse trends in the UFM: CE and MSE, weight decay
# 5e-4 and 0, bias none and free, 3 seeds, gradient flow.
#
# usage: experiments/papyan_trends/run.sh [--quick] [--out DIR] [--resume]
#   --resume: keep the points DIR/results.jsonl already holds and run only the rest (after a kill)
#   default DIR: experiments/papyan_trends/results (quick: experiments/papyan_trends/results/quick)
#   UFM_SIM names the binary (default build/ufm-sim, relative to the repository root).
# Writes DIR/results.jsonl (one line per point), DIR/trajectories/<id>.json (each point's whole
# trajectory), DIR/grid.json (the grid that ran) and DIR/meta.json.
set -euo pipefail
STUDY_FLAGS="--resume"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT

run_sweep_study
