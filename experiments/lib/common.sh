# The shared top of every experiments/<study>/run.sh; sourced, never run.
#
# A run.sh starts with its usage as a comment block (lines 2.. up to the first line that is not a
# comment: what -h/--help prints), then
#
#     set -euo pipefail
#     STUDY_FLAGS="--resume"        # optional: extra on/off options, here --resume (sets RESUME=1)
#     source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"
#
# Sourcing parses the options --quick, --out DIR / --out=DIR, -h/--help and those of STUDY_FLAGS
# (anything else: a message and exit 2), changes to the repository root and defines
#
#   HERE     the study's directory (absolute)       ROOT     the repository root (absolute)
#   NAME     the study's name (its directory's)     STUDY    experiments/$NAME
#   QUICK    1 with --quick, else 0                 SUFFIX   "_quick" with --quick, else ""
#   OUT      --out DIR, relative to the directory run.sh was called from; by default
#            experiments/$NAME/results (quick: experiments/$NAME/results/quick), relative to ROOT
#   UFM_SIM  the binary, default build/ufm-sim (relative to ROOT); exit 2 if it is not executable
#   one variable per STUDY_FLAGS option, 0 or 1 (--resume: RESUME, --dry-run: DRY_RUN)
#
# and exports OMP_NUM_THREADS=1. It creates nothing: OUT is the study's to make (init_out). The
# helpers below time the sweeps and write OUT/timing.json, or run a whole one-grid study
# (run_sweep_study).

HERE="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
_caller="$HERE/$(basename "${BASH_SOURCE[1]}")"   # the run.sh that sources this file
ROOT="$(cd "$HERE/../.." && pwd)"
NAME="$(basename "$HERE")"
STUDY="experiments/$NAME"
CALLER_PWD="$PWD"

_flag_var() { local v="${1#--}"; v="${v^^}"; echo "${v//-/_}"; }   # --dry-run -> DRY_RUN
_usage="run.sh [--quick] [--out DIR]"
for _flag in ${STUDY_FLAGS:-}; do
  printf -v "$(_flag_var "$_flag")" 0
  _usage="$_usage [$_flag]"
done

QUICK=0
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --out|--out=*)
      if [[ $1 == --out ]]; then
        [[ $# -ge 2 ]] || { echo "run.sh: --out needs a directory" >&2; exit 2; }
        OUT="$2"; shift 2
      else
        OUT="${1#--out=}"; shift
      fi
      [[ -n "$OUT" ]] || { echo "run.sh: --out '': an empty path; give a directory" >&2; exit 2; } ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$_caller"; exit 0 ;;
    *)
      if [[ " ${STUDY_FLAGS:-} " == *" $1 "* ]]; then
        printf -v "$(_flag_var "$1")" 1; shift
      else
        echo "run.sh: unknown argument $1 (usage: $_usage)" >&2; exit 2
      fi ;;
  esac
done
unset _flag _usage

cd "$ROOT"
SUFFIX=""; [[ $QUICK == 1 ]] && SUFFIX="_quick"
if [[ -n "$OUT" && "$OUT" != /* ]]; then OUT="$CALLER_PWD/$OUT"; fi   # --out is relative to the caller
if [[ -z "$OUT" ]]; then
  OUT="$STUDY/results"; [[ $QUICK == 1 ]] && OUT="$OUT/quick"
fi
# A device, a FIFO or a regular file where the results directory should be: refused before any work.
if [[ -e "$OUT" && ! -d "$OUT" ]]; then
  echo "run.sh: --out $OUT: exists and is not a directory; give a directory (it is created if missing)" >&2
  exit 2
fi
UFM_SIM="${UFM_SIM:-build/ufm-sim}"
[[ -x "$UFM_SIM" ]] || { echo "run.sh: UFM_SIM=$UFM_SIM is not an executable (build it, or set UFM_SIM)" >&2; exit 2; }
export OMP_NUM_THREADS=1

# init_out [SUBDIR]: create OUT (and OUT/SUBDIR) and record the binary's version in OUT/version.txt.
init_out() {
  mkdir -p "$OUT${1:+/$1}"
  "$UFM_SIM" --version > "$OUT/version.txt" 2>&1 || true
}

# now: the wall clock in seconds. elapsed START END: END - START in seconds, rounded to 0.01 (as
# Python prints it: 0.5, 12.34).
now() { date +%s.%N; }
elapsed() { /usr/bin/python3 -c "print(round($2 - $1, 2))"; }

# OUT/timing.json, {"name": seconds, ...} in the order given, built in OUT/timing.json.tmp:
#   timing_begin; timing_add grid 1.5; timing_add refine 0.3; timing_end
timing_begin() { _timing_first=1; echo "{" > "$OUT/timing.json.tmp"; }
timing_add() {
  [[ $_timing_first == 1 ]] || echo "," >> "$OUT/timing.json.tmp"
  _timing_first=0
  printf '  "%s": %s' "$1" "$2" >> "$OUT/timing.json.tmp"
}
timing_end() { printf '\n}\n' >> "$OUT/timing.json.tmp"; mv "$OUT/timing.json.tmp" "$OUT/timing.json"; }

# run_sweep_study: the whole of a one-grid study. Runs `ufm-sim sweep` on $STUDY/grid$SUFFIX.json
# and writes OUT/results.jsonl (one line per point), OUT/trajectories/<id>.json (each point's
# whole trajectory), OUT/grid.json (the grid that ran) and OUT/meta.json (study, quick, grid,
# binary, version, wall seconds), after removing what an earlier run wrote there (nothing else).
# With --resume (RESUME=1) it keeps the earlier results and trajectories, and the sweep runs only
# the points they lack (a killed study loses nothing; the sweep refuses results of another grid);
# wall seconds are then this run's.
run_sweep_study() {
  local grid="$STUDY/grid$SUFFIX.json" start end wall
  mkdir -p "$OUT"
  if [[ ${RESUME:-0} == 0 ]]; then
    rm -rf "$OUT/trajectories"
    rm -f "$OUT/results.jsonl"
  fi
  rm -f "$OUT/grid.json" "$OUT/meta.json"
  cp "$grid" "$OUT/grid.json"

  start=$(now)
  "$UFM_SIM" sweep "$grid" --out "$OUT/results.jsonl" --trajectories "$OUT/trajectories" --threads 1 --quiet
  end=$(now)
  wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  printf '{"study": "%s", "quick": %s, "grid": "%s", "ufm_sim": "%s", "version": "%s", "wall_seconds": %s}\n' \
    "$NAME" "$([[ $QUICK == 1 ]] && echo true || echo false)" "$grid" "$UFM_SIM" \
    "$("$UFM_SIM" --version | head -n1)" "$wall" > "$OUT/meta.json"
  echo "$NAME: $(grep -c '"type":"point"' "$OUT/results.jsonl") points in ${wall} s -> $OUT"
}
