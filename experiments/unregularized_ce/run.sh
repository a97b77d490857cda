#!/usr/bin/env bash
# Ji et al.'s unregularized CE UFM (theory.md §5 (e)): the normalized margin and the distance to the
# max-margin self-dual simplex ETF against log t, gradient flow up to t = 1e10, K = 3, 4, 6, 10, 4 seeds.
#
# usage: experiments/unregularized_ce/run.sh [--quick] [--out DIR] [--resume]
#   --resume: keep the points DIR/results.jsonl already holds and run only the rest (after a kill)
#   default DIR: experiments/unregularized_ce/results (quick: experiments/unregularized_ce/results/quick)
#   UFM_SIM names the binary (default build/ufm-sim, relative to the repository root).
# Writes DIR/results.jsonl (one line per point), DIR/trajectories/<id>.json (each point's whole
# trajectory), DIR/grid.json (the grid that ran) and DIR/meta.json.
set -euo pipefail
STUDY_FLAGS="--resume"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT

run_sweep_study
