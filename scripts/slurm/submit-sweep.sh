#!/usr/bin/env bash
# Submits a sweep as a Slurm job array of SHARDS tasks (sweep.sbatch) and a merge job that runs
# after all of them (merge.sbatch). Prints the two job ids ("ARRAY_ID MERGE_ID").
#
#   scripts/slurm/submit-sweep.sh GRID.json OUTDIR SHARDS [extra sbatch options...]
#
# The result is OUTDIR/all.jsonl. Environment: UFM_SIM (the binary, default build/ufm-sim).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
grid=${1:?usage: submit-sweep.sh GRID.json OUTDIR SHARDS [sbatch options]}
outdir=${2:?usage: submit-sweep.sh GRID.json OUTDIR SHARDS [sbatch options]}
shards=${3:?usage: submit-sweep.sh GRID.json OUTDIR SHARDS [sbatch options]}
shift 3
mkdir -p "$outdir"
# Validate the grid here, before anything is queued: a bad grid exits 2 with its message.
"${UFM_SIM:-build/ufm-sim}" sweep "$grid" --list >/dev/null
array=$(sbatch --parsable --array="0-$((shards - 1))" --chdir="$PWD" --output="$outdir/sweep-%A_%a.log" "$@" \
  "$here/sweep.sbatch" "$grid" "$outdir")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterany:$array" --chdir="$PWD" --output="$outdir/merge-%j.log" "$@" \
  "$here/merge.sbatch" "$outdir" "$shards")
echo "$array ${merge%%;*}"
