#!/usr/bin/env bash
# The network of the SQI study (bias-free ReLU MLP 784-512-512-10 on a balanced Fashion-MNIST subset,
# MSE, weight decay 5e-4) against its matched UFM: `ufm-sim compare`, which trains the network and
# then runs the UFM (K = 10, n = the evaluation subset per class, d = 512, lambda_W = lambda_H = 5e-4,
# no bias; `run`'s default gradient flow to t = 2e4) from a random init and from the network's own
# penultimate features and classifier.
#
# usage: experiments/ufm_vs_network/run.sh [--quick] [--out DIR]
#   default DIR: experiments/ufm_vs_network/results (quick: experiments/ufm_vs_network/results/quick)
#   UFM_SIM names the binary (default build/ufm-sim, relative to the repository root).
#   CMP_EPOCHS overrides the number of epochs of the full run (default 15, as in experiments/sqi_network).
# Writes DIR/compare.json (network, ufm, ufm_from_network, theory, table), DIR/table.txt (the table
# compare prints) and DIR/meta.json.
# Full: about 3 minutes on one core; --quick: about 8 s (100 images per class, widths 128, batch 32, 10 epochs; n = 50).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT

if [[ $QUICK == 1 ]]; then
  ARGS=(--data fashion-mnist --train-per-class 100 --widths 128,128 --batch-size 32 --lr 0.01 --momentum 0.9
        --epochs 10 --metric-samples 500 --loss mse --lambda 5e-4 --seed 0)
else
  ARGS=(--data fashion-mnist --train-per-class 2000 --widths 512,512 --batch-size 128 --lr 0.01 --momentum 0.9
        --epochs "${CMP_EPOCHS:-15}" --metric-samples 2000 --loss mse --lambda 5e-4 --seed 0)
fi

mkdir -p "$OUT"
rm -f "$OUT/compare.json" "$OUT/table.txt" "$OUT/meta.json"   # a fresh run: only what this script writes

start=$(date +%s.%N)
# Not --quiet: compare then prints its table on stderr (no progress bar: stderr is a file).
"$UFM_SIM" compare "${ARGS[@]}" --out "$OUT/compare.json" 2> "$OUT/table.txt"
rc=$?
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
printf '{"study": "%s", "quick": %s, "ufm_sim": "%s", "version": "%s", "exit_status": %d, "wall_seconds": %s, "command": "ufm-sim compare%s --out %s"}\n' \
  "$NAME" "$([[ $QUICK == 1 ]] && echo true || echo false)" "$UFM_SIM" "$("$UFM_SIM" --version | head -n1)" \
  "$rc" "$wall" "$(printf ' %s' "${ARGS[@]}")" "$OUT/compare.json" > "$OUT/meta.json"
cat "$OUT/table.txt"
echo "$NAME: exit $rc in ${wall} s -> $OUT"
exit $rc
