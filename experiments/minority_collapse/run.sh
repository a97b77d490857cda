#!/usr/bin/env bash
# Minority collapse (Fang et al. 2021) in the regularized CE UFM.
#   experiments/minority_collapse/run.sh [--quick] [--out DIR] [--resume]
# Runs `ufm-sim sweep grid.json` (lambda x R = 10^(0.1 i)) and `ufm-sim sweep refine.json` (explicit
# class counts near R* for two of the lambdas). Full: ~3 min on one core; --quick (grid_quick.json,
# refine_quick.json): a few seconds. Results: DIR/grid.jsonl, DIR/refine.jsonl, DIR/timing.json.
set -euo pipefail
STUDY_FLAGS="--resume"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT
init_out

timing_begin
for name in grid refine; do
  res="$OUT/$name.jsonl"
  if [ $RESUME = 0 ]; then rm -f "$res"; fi
  start=$(now)
  "$UFM_SIM" sweep "$STUDY/$name$SUFFIX.json" --out "$res" --threads 1 --quiet
  end=$(now)
  secs=$(elapsed "$start" "$end")
  timing_add "$name" "$secs"
  echo "$name: $(($(wc -l < "$res") - 1)) points in ${secs} s -> $res"
done
timing_end
