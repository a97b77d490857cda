#!/usr/bin/env bash
# The SQI study: symmetric quasi-interpolation (theory.md §4, SQI) and neural collapse layer by layer
# in a bias-free ReLU network on Fashion-MNIST (MSE, weight decay 5e-4 on every layer), with 1 and 2
# hidden layers of width 512, next to the bias-free and free-bias UFM, where theory.md §5 (a)/(b)
# gives the SQI quantities exactly.
#
# usage: experiments/sqi_network/run.sh [--quick] [--out DIR]
#   default DIR: experiments/sqi_network/results (quick: experiments/sqi_network/results/quick)
#   UFM_SIM names the binary (default build/ufm-sim, relative to the repository root).
#   SQI_EPOCHS overrides the number of epochs of the full run (default 15).
# Writes DIR/net_1hidden.json, DIR/net_2hidden.json (ufm-sim net, every checkpoint) with their
# --save-state directories DIR/net_1hidden.state, DIR/net_2hidden.state; DIR/ufm_bias_none.json,
# DIR/ufm_bias_free.json (ufm-sim run --check-theory) with DIR/ufm_bias_*.state; DIR/meta.json.
# Full: about 2 minutes on one core; --quick: about 10 s (Fashion-MNIST, 100 images per class,
# widths 128, 15 epochs of batch 32; a smaller UFM).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT

# The network: bias-free ReLU MLP, MSE, lambda = 5e-4 on every layer, minibatch SGD with momentum.
# --max-singular-values 0 keeps every singular value, so the cumulative explained variance is exact.
if [[ $QUICK == 1 ]]; then
  WIDTH=128
  NET=(--data fashion-mnist --train-per-class 100 --batch-size 32 --lr 0.01 --momentum 0.9 --epochs 15
       --metric-samples 1000 --loss mse --lambda 5e-4 --seed 0 --max-singular-values 0 --quiet)
  UFM=(--classes 10 --per-class 20 --dim 32 --loss mse --lambda 5e-4 --quiet)
else
  WIDTH=512
  NET=(--data fashion-mnist --train-per-class 2000 --batch-size 128 --lr 0.01 --momentum 0.9
       --epochs "${SQI_EPOCHS:-15}" --metric-samples 2000 --loss mse --lambda 5e-4 --seed 0
       --max-singular-values 0 --quiet)
  UFM=(--classes 10 --per-class 50 --dim 64 --loss mse --lambda 5e-4 --quiet)
fi

mkdir -p "$OUT"
# A fresh run: remove what an earlier run of this script wrote here (nothing else).
for f in net_1hidden net_2hidden ufm_bias_none ufm_bias_free; do
  rm -rf "$OUT/$f.state"; rm -f "$OUT/$f.json" "$OUT/$f.stderr"
done
rm -f "$OUT/meta.json"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
STEPS=()        # JSON fragments for meta.json
FAILED=0
step() {        # step NAME ARGS...: run "$UFM_SIM" ARGS, time it, record its exit status
  local name="$1"; shift
  local t0 t1 rc
  t0=$(now)
  "$UFM_SIM" "$@" 2> "$OUT/$name.stderr"
  rc=$?
  t1=$(now)
  [[ -s "$OUT/$name.stderr" ]] || rm -f "$OUT/$name.stderr"
  if [[ $rc != 0 ]]; then
    FAILED=1; echo "run.sh: $name exited $rc (see $OUT/$name.stderr)" >&2
  fi
  local cmd; cmd=$(printf ' %s' "$@")
  STEPS+=("$(printf '{"name": "%s", "exit_status": %d, "wall_seconds": %s, "command": "ufm-sim%s"}' \
    "$name" "$rc" "$(secs "$t0" "$t1")" "$cmd")")
  echo "$name: exit $rc, $(secs "$t0" "$t1") s"
}

start=$(now)
step net_1hidden net "${NET[@]}" --widths "$WIDTH" \
  --out "$OUT/net_1hidden.json" --save-state "$OUT/net_1hidden.state"
step net_2hidden net "${NET[@]}" --widths "$WIDTH,$WIDTH" \
  --out "$OUT/net_2hidden.json" --save-state "$OUT/net_2hidden.state"
for bias in none free; do
  step "ufm_bias_$bias" run "${UFM[@]}" --bias "$bias" --check-theory \
    --out "$OUT/ufm_bias_$bias.json" --save-state "$OUT/ufm_bias_$bias.state"
done
end=$(now)

{
  printf '{"study": "%s", "quick": %s, "ufm_sim": "%s", "version": "%s", "wall_seconds": %s, "steps": [\n' \
    "$NAME" "$([[ $QUICK == 1 ]] && echo true || echo false)" "$UFM_SIM" \
    "$("$UFM_SIM" --version | head -n1)" "$(secs "$start" "$end")"
  for i in "${!STEPS[@]}"; do
    printf '  %s%s\n' "${STEPS[$i]}" "$([[ $i -lt $((${#STEPS[@]} - 1)) ]] && echo ,)"
  done
  printf ']}\n'
} > "$OUT/meta.json"
echo "$NAME: 4 runs in $(secs "$start" "$end") s -> $OUT"
exit $FAILED
