#!/usr/bin/env bash
# Wojtowytsch & E's shallow-network toy (theory.md §5 (g)): h(1) - h(-1) = a3 - a2 - a1 against its
# limit log(p3/(2 p1)) for six data distributions p and three initial a(0); `ufm-sim toy`.
#
# usage: experiments/wojtowytsch_toy/run.sh [--quick] [--out DIR] [--resume]
#   --resume: keep the points DIR/results.jsonl already holds and run only the rest (after a kill)
#   default DIR: experiments/wojtowytsch_toy/results (quick: experiments/wojtowytsch_toy/results/quick)
#   UFM_SIM names the binary (default build/ufm-sim, relative to the repository root).
# Writes DIR/results.jsonl (one line per point), DIR/trajectories/<id>.json (each point's whole
# trajectory), DIR/grid.json (the grid that ran) and DIR/meta.json.
set -euo pipefail
STUDY_FLAGS="--resume"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT

run_sweep_study
