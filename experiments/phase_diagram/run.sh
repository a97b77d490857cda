#!/usr/bin/env bash
# Phase diagram of the regularized UFM against theory.md 5 (a), (b), (d).
#   experiments/phase_diagram/run.sh [--quick] [--out DIR] [--resume]
# Runs three `ufm-sim sweep` grids (the phase diagram, an asymmetric-decay check, and a
# near-threshold slowing-down scan) and, for each, the matching `ufm-sim theory` sweep.
# Full: ~2 min on one core; --quick: a few seconds. Results: DIR/*.jsonl, DIR/timing.json.
set -euo pipefail
STUDY_FLAGS="--resume"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT
init_out

timing_begin
for name in grid asymmetric near_threshold; do
  grid="$STUDY/$name$SUFFIX.json"
  res="$OUT/$name.jsonl"; tres="$OUT/${name}_theory.jsonl"; tgrid="$OUT/${name}_theory_grid.json"
  if [ $RESUME = 0 ]; then rm -f "$res" "$tres"; fi
  # the theory sweep of the same points: the grid with only the model options, no seeds
  /usr/bin/python3 - "$grid" "$tgrid" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
model = {"classes", "per_class", "imbalance", "majority_classes", "class_counts", "dim", "layers",
         "width", "widths", "activation", "loss", "bias", "lambda", "lambda_w", "lambda_h",
         "lambda_b", "lambda_layer", "fixed_classifier", "classifier_norm"}
t = {"description": "theory of " + sys.argv[1], "command": "theory",
     "base": {k: v for k, v in g["base"].items() if k in model}, "axes": g["axes"]}
if "zip" in g: t["zip"] = g["zip"]
json.dump(t, open(sys.argv[2], "w"), indent=1)
PY
  start=$(now)
  "$UFM_SIM" sweep "$grid" --out "$res" --threads 1 --quiet
  end=$(now)
  "$UFM_SIM" sweep "$tgrid" --out "$tres" --threads 1 --quiet
  secs=$(elapsed "$start" "$end")
  timing_add "$name" "$secs"
  echo "$name: $(($(wc -l < "$res") - 1)) points in ${secs} s -> $res"
done
timing_end
