#!/usr/bin/env bash
# Minority collapse (Fang et al. 2021) in the regularized CE UFM.
#   experiments/minority_collapse/run.sh [--quick] [--out DIR] [--resume]
# Runs `ufm-sim sweep grid.json` (lambda x R = 10^(0.1 i)) and `ufm-sim sweep refine.json` (explicit
# class counts near R* for two of the lambdas). Full: ~3 min on one core; --quick (grid_quick.json,
# refine_quick.json): a few seconds. Results: DIR/grid.jsonl, DIR/refine.jsonl, DIR/timing.json.
set -euo pipefail
ORIG="$PWD"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/../.."                                   # the repository root
UFM_SIM="${UFM_SIM:-build/ufm-sim}"
STUDY=experiments/minority_collapse

QUICK=0; OUT=""; RESUME=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --out) OUT="$2"; shift ;;
    --out=*) OUT="${1#--out=}" ;;
    --resume) RESUME=1 ;;
    -h|--help) sed -n '2,6p' "$HERE/run.sh"; exit 0 ;;
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

first=1
echo "{" > "$OUT/timing.json.tmp"
for name in grid refine; do
  res="$OUT/$name.jsonl"
  if [ $RESUME = 0 ]; then rm -f "$res"; fi
  start=$(date +%s.%N)
  "$UFM_SIM" sweep "$STUDY/$name$SUFFIX.json" --out "$res" --threads 1 --quiet
  end=$(date +%s.%N)
  secs=$(/usr/bin/python3 -c "print(round($end - $start, 2))")
  [ $first = 1 ] || echo "," >> "$OUT/timing.json.tmp"; first=0
  printf '  "%s": %s' "$name" "$secs" >> "$OUT/timing.json.tmp"
  echo "$name: $(($(wc -l < "$res") - 1)) points in ${secs} s -> $res"
done
printf '\n}\n' >> "$OUT/timing.json.tmp"
mv "$OUT/timing.json.tmp" "$OUT/timing.json"
