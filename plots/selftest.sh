#!/bin/bash
# Self-test of plots/: make small ufm-sim outputs, run every script on them, check the figures
# and the error messages. Prints what failed; exit 0 when all passed, 1 otherwise, 2 on bad usage.
#
# usage: plots/selftest.sh UFM_SIM TMPDIR       e.g. plots/selftest.sh build/ufm-sim /tmp/plots-selftest
# $PYTHON overrides the interpreter (default /usr/bin/python3). About 10-20 s on 2 cores.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 UFM_SIM TMPDIR" >&2
    exit 2
fi
BIN=$1
T=$2
PY=${PYTHON:-/usr/bin/python3}
PLOTS=$(cd "$(dirname "$0")" && pwd)
[ -x "$BIN" ] || { echo "$0: $BIN: not an executable" >&2; exit 2; }
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
mkdir -p "$T" || exit 2
T=$(cd "$T" && pwd)
rm -rf "$T"/out "$T"/exp "$T"/log
mkdir -p "$T"/out "$T"/exp "$T"/log
export MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
# matplotlib's font cache: keep it in TMPDIR when the home one cannot be written
if [ -z "${MPLCONFIGDIR:-}" ] && ! { mkdir -p "${HOME:-/nonexistent}/.cache/matplotlib" &&
                                    [ -w "${HOME:-/nonexistent}/.cache/matplotlib" ]; } 2>/dev/null; then
    export MPLCONFIGDIR=$T/mplconfig
fi
START=$(date +%s.%N)
FAILS=0
N=0

fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}

# run NAME CMD...: expect exit status 0; output in log/NAME
run() {
    local name=$1
    shift
    N=$((N + 1))
    "$@" >"$T/log/$name.out" 2>"$T/log/$name.err"
    local rc=$?
    if [ $rc -ne 0 ]; then
        fail "$name: exit status $rc (expected 0): $*"
        sed 's/^/    /' "$T/log/$name.err" | tail -n 5
        return 1
    fi
}

# is_figure FILE MAGIC: a non-empty file starting with MAGIC (PNG or %PDF)
is_figure() {
    local file=$1 magic=$2
    if [ ! -s "$file" ]; then
        fail "$file: missing or empty"
    elif [ "$(head -c 4 "$file" | tr -d '\0' | tr -cd '[:print:]')" != "$magic" ]; then
        fail "$file: not a $magic file"
    fi
}

# start NAME CMD...: run in the background (the figure jobs overlap); `finish NAME` checks it
start() {
    local name=$1
    shift
    N=$((N + 1))
    echo "$*" >"$T/log/$name.cmd"
    ( "$@" >"$T/log/$name.out" 2>"$T/log/$name.err"; echo $? >"$T/log/$name.rc" ) &
}

# finish NAME [FILE MAGIC]...: after `wait`, exit status 0 and each FILE a non-empty MAGIC file
finish() {
    local name=$1
    shift
    local rc
    rc=$(cat "$T/log/$name.rc" 2>/dev/null || echo "none")
    if [ "$rc" != 0 ]; then
        fail "$name: exit status $rc (expected 0): $(cat "$T/log/$name.cmd")"
        sed 's/^/    /' "$T/log/$name.err" | tail -n 5
        return 1
    fi
    while [ $# -ge 2 ]; do
        is_figure "$1" "$2"
        shift 2
    done
}

# bad_file SCRIPT FILE ARGS...: exit 2 and one line "plots/SCRIPT: error: FILE: <why>"
bad_file() {
    local script=$1 file=$2
    shift 2
    N=$((N + 1))
    local err
    err=$("$PY" "$PLOTS/$script" "$file" "$@" --out "$T/out/never.png" 2>&1 >/dev/null)
    local rc=$?
    local lines
    lines=$(printf '%s\n' "$err" | grep -c .)
    if [ $rc -ne 2 ]; then
        fail "$script $file: exit status $rc (expected 2): $err"
    elif [ "$lines" -ne 1 ]; then
        fail "$script $file: $lines lines on stderr (expected 1): $err"
    else
        case $err in
            "plots/$script: error: $file: "?*) ;;
            *) fail "$script $file: message not 'plots/$script: error: $file: <why>': $err" ;;
        esac
    fi
    [ -e "$T/out/never.png" ] && fail "$script $file: wrote a figure anyway"
}

# ---------------------------------------------------------------- small outputs (about 1 s)
O=$T/out
UFM="--classes 4 --per-class 10 --dim 16 --dynamics gd --lr 0.5 --steps 2000 --quiet"
run gen-run "$BIN" $UFM --out "$O/run.json"
run gen-jsonl "$BIN" $UFM --format jsonl --out "$O/run.jsonl"
run gen-deep "$BIN" $UFM --layers 2 --width 16 --activation relu --out "$O/deep.json"
run gen-net "$BIN" net --quiet --classes 3 --per-class 30 --widths 16,16 --epochs 20 \
    --metric-samples 60 --out "$O/net.json"
run gen-check "$BIN" --lambda 1e-2 --classes 3 --per-class 4 --dim 5 --time 1e6 --grad-tol 1e-11 \
    --abs-tol 1e-12 --rel-tol 1e-12 --check-theory --quiet --out "$O/check.json"
cat >"$O/grid.json" <<'EOF'
{"command": "run",
 "base": {"loss": "mse", "bias": "none", "per_class": 4, "dim": 5, "time": 1e6, "grad_tol": 1e-11,
          "abs_tol": 1e-12, "rel_tol": 1e-12, "check_theory": true, "num_checkpoints": 3},
 "axes": {"lambda": {"logspace": [-2.5, -0.5, 3]}, "classes": [2, 3]},
 "seeds": 2}
EOF
run gen-sweep "$BIN" sweep "$O/grid.json" --out "$O/sweep.jsonl" --threads 1
echo "not json at all" >"$O/notjson.txt"

# ---------------------------------------------------------------- the scripts (in parallel)
# make_all: a study that works (--out .pdf; PNG and PDF written) and one that fails -> exit 1
# (and below, a trivial study alone -> exit 0)
# (make_all passes a study's results/ directory to its figures.py, like the studies' run.sh use)
mkdir -p "$T/exp/good/results" "$T/exp/broken" "$T/exp/trivial"
printf '%s\n' "import os, sys" "from plots import trajectory" \
    "assert os.path.samefile(sys.argv[1], 'results'), sys.argv" \
    "trajectory.main(['$O/run.jsonl', '--metrics', 'nc1', '--out', 'results/nc1.pdf'])" \
    >"$T/exp/good/figures.py"
echo 'raise SystemExit("this study is broken on purpose")' >"$T/exp/broken/figures.py"
echo 'import trajectory, heatmap, scatter, spectrum, ufm_io' >"$T/exp/trivial/figures.py"
start make_all "$PY" "$PLOTS/make_all.py" --experiments "$T/exp"
start trajectory "$PY" "$PLOTS/trajectory.py" "$O/run.json" "$O/run.jsonl" "$O/deep.json" \
    "$O/net.json" --metrics nc1,nc3,margin_mean --levels all --test --out "$O/trajectory.png"
start heatmap "$PY" "$PLOTS/heatmap.py" "$O/sweep.jsonl" --x lambda --y classes --metric nc1 \
    --reduce median --threshold-curve theory --out "$O/heatmap.png"
start scatter "$PY" "$PLOTS/scatter.py" "$O/check.json" "$O/sweep.jsonl" --out "$O/scatter.png"
start spectrum "$PY" "$PLOTS/spectrum.py" "$O/deep.json" "$O/net.json" --checkpoint -1 \
    --out "$O/spectrum.png"

# ---------------------------------------------------------------- errors and --help (while the figures are drawn)
for script in trajectory.py heatmap.py scatter.py spectrum.py; do
    args=()
    [ $script = heatmap.py ] && args=(--x lambda --y classes --metric nc1)
    bad_file $script "$O/missing.json" "${args[@]}"
    bad_file $script "$O/notjson.txt" "${args[@]}"
done
# a device: refused before a byte is read, not read forever (the limit turns a regression into an
# error within seconds instead of the machine's memory)
for script in trajectory.py heatmap.py scatter.py spectrum.py; do
    args=()
    [ $script = heatmap.py ] && args=(--x lambda --y classes --metric nc1)
    N=$((N + 1))
    err=$(ulimit -v 4000000; "$PY" "$PLOTS/$script" /dev/zero "${args[@]}" --out "$T/out/never.png" 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 2 ] || fail "$script /dev/zero: exit status $rc (expected 2): $err"
    case $err in
        "plots/$script: error: /dev/zero: a device, not a regular file or a pipe") ;;
        *) fail "$script /dev/zero: message: $err" ;;
    esac
done
bad_file heatmap.py "$O/run.json" --x lambda --y classes --metric nc1   # a run, not a sweep
bad_file scatter.py "$O/run.json"                                      # no theory_check
# --out where a symlink (to /dev/null, or to someone's file), a FIFO or a directory stands: refused
# before any work, nothing written through it; the plots' write_figure and the studies' save_figure
echo "keep me" >"$O/victim.txt"
ln -s "$O/victim.txt" "$O/link.png"
ln -s /dev/null "$O/null.png"
mkfifo "$O/fifo.png"
mkdir "$O/dir.png"
for target in link.png null.png fifo.png dir.png; do
    N=$((N + 1))
    err=$(timeout 60 "$PY" "$PLOTS/trajectory.py" "$O/run.json" --out "$O/$target" 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 2 ] || fail "trajectory.py --out $target: exit status $rc (expected 2): $err"
    case $err in
        "plots/trajectory.py: error: $O/$target: exists and is not a regular file"*) ;;
        *) fail "trajectory.py --out $target: message: $err" ;;
    esac
done
N=$((N + 1))
err=$(cd "$O" && timeout 60 "$PY" -c "
import os, sys
sys.path.insert(0, '$PLOTS/../experiments/lib')
import study
fig, ax = study.pyplot().subplots()
study.save_figure(fig, '.', 'link')" 2>&1)
rc=$?
[ $rc -eq 2 ] || fail "study.save_figure over a symlink: exit status $rc (expected 2): $err"
[ "$(cat "$O/victim.txt")" = "keep me" ] || fail "a refused --out wrote through its symlink"
[ -L "$O/link.png" ] && [ -L "$O/null.png" ] && [ -p "$O/fifo.png" ] && [ -d "$O/dir.png" ] ||
    fail "a refused --out was replaced"
[ -c /dev/null ] || fail "/dev/null is no longer a character device"

# summary.py (what scripts/install.sh ends with): a run, a JSONL run and a piped run print their
# table; a device, JSON nested 100,000 deep, an empty path, a sweep and --rows 0 are refused with
# one line and status 2
run summary "$PY" "$PLOTS/summary.py" "$O/run.json" --rows 3
grep -q "^status: " "$T/log/summary.out" || fail "summary.py: no status line"
run summary-jsonl "$PY" "$PLOTS/summary.py" "$O/run.jsonl"
run summary-pipe bash -c "\"$PY\" \"$PLOTS/summary.py\" <(cat \"$O/run.json\")"
printf '%*s' 100000 '' | tr ' ' '[' > "$O/deep.json"
{ echo '{"type": "header"}'; printf '%*s\n' 100000 '' | tr ' ' '['; echo '{}'; } > "$O/deep.jsonl"
for case in "/dev/zero|/dev/zero: a device, not a regular file or a pipe" \
            "$O/deep.json|$O/deep.json: not a ufm-sim output (it nests too deeply)" \
            "$O/deep.jsonl|$O/deep.jsonl: not a ufm-sim output (line 2 nests too deeply)" \
            "|'': an empty path" \
            "$O/sweep.jsonl|$O/sweep.jsonl: a sweep output, not a run" \
            "$O/run.json --rows 0|--rows 0: must be >= 1"; do
    N=$((N + 1))
    file=${case%%|*}
    want=${case#*|}
    # shellcheck disable=SC2086
    err=$(ulimit -v 4000000; "$PY" "$PLOTS/summary.py" ${file:-''} 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 2 ] || fail "summary.py ${file:-''}: exit status $rc (expected 2): $err"
    case $err in
        *"plots/summary.py: error: $want"*) ;;
        *) fail "summary.py ${file:-''}: message not '$want': $err" ;;
    esac
done

for script in trajectory.py heatmap.py scatter.py spectrum.py make_all.py; do
    run "help-$script" "$PY" "$PLOTS/$script" --help
    grep -q "^usage: plots/$script" "$T/log/help-$script.out" || fail "$script --help: no usage line"
done

# ---------------------------------------------------------------- the figures' results
wait
finish trajectory "$O/trajectory.png" PNG
finish heatmap "$O/heatmap.png" PNG
grep -q "no threshold curve" "$T/log/heatmap.err" && fail "heatmap: the threshold curve was left out"
finish scatter "$O/scatter.png" PNG
finish spectrum "$O/spectrum.png" PNG
rc=$(cat "$T/log/make_all.rc")
[ "$rc" = 1 ] || fail "make_all: exit status $rc with a broken study (expected 1)"
grep -q "^ok .*good" "$T/log/make_all.out" || fail "make_all: 'good' not reported ok"
grep -q "^FAILED broken" "$T/log/make_all.out" || fail "make_all: 'broken' not reported FAILED"
is_figure "$T/exp/good/results/nc1.pdf" %PDF
is_figure "$T/exp/good/results/nc1.png" PNG
leftovers=$(find "$O" "$T/exp" -name '*.tmp')
[ -z "$leftovers" ] || fail "temporary files left behind: $leftovers"
run make_all-ok "$PY" "$PLOTS/make_all.py" --experiments "$T/exp" --only trivial

SECONDS_TAKEN=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $START }")
if [ $FAILS -ne 0 ]; then
    echo "plots/selftest.sh: FAILED: $FAILS failure(s), $N checks run (${SECONDS_TAKEN} s); logs in $T/log"
    exit 1
fi
echo "plots/selftest.sh: all $N checks passed (${SECONDS_TAKEN} s); figures in $O"
exit 0
