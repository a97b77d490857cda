#!/usr/bin/env bash
# Phase diagram of the regularized UFM against theory.md 5 (a), (b), (d).
#   experiments/phase_diagram/run.sh [--quick] [--out DIR] [--resume]
# Runs three `ufm-sim sweep` grids (the phase diagram, an asymmetric-decay check, and a
# near-threshold slowing-down scan) and, for each, the matching `ufm-sim theory` sweep.
# Full: ~2 min on one core; --quick: a few seconds. Results: DIR/*.jsonl, DIR/timing.json.
set -euo pipefail
ORIG="$PWD"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/../.."                                   # the repository root
UFM_SIM="${UFM_SIM:-build/ufm-sim}"
STUDY=experiments/phase_diagram

QUICK=0; OUT=""; RESUME=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT="$2"; shift ;;
    --out=*) OUT="${1#--out=}" ;;
    --resume) RESUME=1 ;;
    -h|--help) sed -n '2,7p' "$HERE/run.sh"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
case "$OUT" in ""|/*) ;; *) OUT="$ORIG/$OUT" ;; esac   # --out relative to where run.sh was called
if [ -z "$OUT" ]; then
  if [ $QUICK = 1 ]; then OUT="$STUDY/results/quick"; else OUT="$STUDY/results"; fi
fi
SUFFIX=""; [ $QUICK = 1 ] && SUFFIX="_quick"
[ -x "$UFM_SIM" ] || { echo "run.sh: UFM_SIM=$UFM_SIM is not an executable (build it, or set UFM_SIM)" >&2; exit 2; }
mkdir -p "$OUT"
export OMP_NUM_THREADS=1

"$UFM_SIM" --version > "$OUT/version.txt" 2>&1 || true
echo "{" > "$OUT/timing.json.tmp"
first=1
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
  start=$(date +%s.%N)
  "$UFM_SIM" sweep "$grid" --out "$res" --threads 1 --quiet
  end=$(date +%s.%N)
  "$UFM_SIM" sweep "$tgrid" --out "$tres" --threads 1 --quiet
  secs=$(/usr/bin/python3 -c "print(round($end - $start, 2))")
  [ $first = 1 ] || echo "," >> "$OUT/timing.json.tmp"; first=0
  printf '  "%s": %s' "$name" "$secs" >> "$OUT/timing.json.tmp"
  echo "$name: $(($(wc -l < "$res") - 1)) points in ${secs} s -> $res"
done
printf '\n}\n' >> "$OUT/timing.json.tmp"
mv "$OUT/timing.json.tmp" "$OUT/timing.json"
