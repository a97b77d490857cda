#!/usr/bin/env bash
# Submits a sweep as a Slurm job array of SHARDS tasks (sweep.sbatch) and a merge job that runs
# after all of them (merge.sbatch). Prints the two job ids ("ARRAY_ID MERGE_ID").
#
#   scripts/slurm/submit-sweep.sh GRID.json OUTDIR SHARDS [extra sbatch options...]
#
# The result is OUTDIR/all.jsonl. Environment: UFM_SIM (the binary, default build/ufm-sim).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage="usage: submit-sweep.sh GRID.json OUTDIR SHARDS [sbatch options]"
die() { echo "submit-sweep.sh: $*" >&2; exit 2; }
[[ $# -ge 3 ]] || die "$usage"
grid=$1 outdir=$2 shards=$3
shift 3
# Everything is checked here, before anything is created or queued; a bad argument exits 2.
[[ -n "$outdir" ]] || die "OUTDIR '': an empty path; give a directory ($usage)"
[[ ! -e "$outdir" || -d "$outdir" ]] || die "OUTDIR $outdir: exists and is not a directory"
[[ $shards =~ ^[1-9][0-9]{0,5}$ ]] || die "SHARDS $shards: must be an integer from 1 to 999999 ($usage)"
# The grid: a bad one exits 2 with ufm-sim's message.
"${UFM_SIM:-build/ufm-sim}" sweep "$grid" --list >/dev/null
mkdir -p "$outdir"
array=$(sbatch --parsable --array="0-$((shards - 1))" --chdir="$PWD" --output="$outdir/sweep-%A_%a.log" "$@" \
  "$here/sweep.sbatch" "$grid" "$outdir")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterany:$array" --chdir="$PWD" --output="$outdir/merge-%j.log" "$@" \
  "$here/merge.sbatch" "$outdir" "$shards")
echo "$array ${merge%%;*}"
