#!/usr/bin/env bash
# Papyan, Han & Donoho's four neural-collapse trends in the UFM: CE and MSE, weight decay
# 5e-4 and 0, bias none and free, 3 seeds, gradient flow.
#
# usage: experiments/papyan_trends/run.sh [--quick] [--out DIR]
#   default DIR: experiments/papyan_trends/results (quick: experiments/papyan_trends/results/quick)
#   UFM_SIM names the binary (default build/ufm-sim, relative to the repository root).
# Writes DIR/results.jsonl (one line per point), DIR/trajectories/<id>.json (each point's whole
# trajectory), DIR/grid.json (the grid that ran) and DIR/meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CALLER_PWD="$PWD"
cd "$ROOT"
UFM_SIM="${UFM_SIM:-build/ufm-sim}"
NAME=papyan_trends

QUICK=0
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --out) [[ $# -ge 2 ]] || { echo "run.sh: --out needs a directory" >&2; exit 2; }; OUT="$2"; shift 2 ;;
    --out=*) OUT="${1#--out=}"; shift ;;
    -h|--help) sed -n '2,9p' "$HERE/run.sh"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (usage: run.sh [--quick] [--out DIR])" >&2; exit 2 ;;
  esac
done
if [[ $QUICK == 1 ]]; then GRID="experiments/$NAME/grid_quick.json"; else GRID="experiments/$NAME/grid.json"; fi
if [[ -n "$OUT" && "$OUT" != /* ]]; then OUT="$CALLER_PWD/$OUT"; fi   # --out is relative to the caller
if [[ -z "$OUT" ]]; then
  OUT="experiments/$NAME/results"; [[ $QUICK == 1 ]] && OUT="$OUT/quick"
fi
[[ -x "$UFM_SIM" ]] || { echo "run.sh: UFM_SIM=$UFM_SIM is not an executable (build it, or set UFM_SIM)" >&2; exit 2; }
export OMP_NUM_THREADS=1

mkdir -p "$OUT"
# A fresh run: remove what an earlier run of this script wrote here (nothing else).
rm -rf "$OUT/trajectories"
rm -f "$OUT/results.jsonl" "$OUT/grid.json" "$OUT/meta.json"
cp "$GRID" "$OUT/grid.json"

start=$(date +%s.%N)
"$UFM_SIM" sweep "$GRID" --out "$OUT/results.jsonl" --trajectories "$OUT/trajectories" --threads 1 --quiet
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
printf '{"study": "%s", "quick": %s, "grid": "%s", "ufm_sim": "%s", "version": "%s", "wall_seconds": %s}\n' \
  "$NAME" "$([[ $QUICK == 1 ]] && echo true || echo false)" "$GRID" "$UFM_SIM" \
  "$("$UFM_SIM" --version | head -n1)" "$wall" > "$OUT/meta.json"
echo "$NAME: $(grep -c '"type":"point"' "$OUT/results.jsonl") points in ${wall} s -> $OUT"
