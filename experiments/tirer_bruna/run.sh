#!/usr/bin/env bash
# Tirer & Bruna's extended (2-layer) UFM against theory.md 5 (c), and its ReLU variant.
#   experiments/tirer_bruna/run.sh [--quick] [--out DIR] [--resume]
# 1. linear: `ufm-sim sweep linear.json` (kappa x init scale x seeds, gradient flow to ||grad F|| <= 1e-9,
#    --check-theory) and the `ufm-sim theory` sweep of the same points;
# 2. ReLU: `ufm-sim run --config relu.json` for kappa in {0.1, 0.3}, init scale in {0.3, 1}, 10 seeds,
#    each with --save-state (S1 = relu(W1 H1) is recomputed from it), and `ufm-sim theory` of the
#    linear model with the same lambda (the value the ReLU runs are compared with).
# Full: ~4 min on one core; --quick: a few seconds. Results in DIR (default experiments/tirer_bruna/results).
set -euo pipefail
STUDY_FLAGS="--resume"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh" "$@"   # options, repository root, UFM_SIM, OUT
if [ $QUICK = 1 ]; then
  GRID="$STUDY/linear_quick.json"; RELU_KAPPAS="0.1"; RELU_INITS="1.0"; RELU_SEEDS=2; RELU_TIME=5000
else
  GRID="$STUDY/linear.json"; RELU_KAPPAS="0.1 0.3"; RELU_INITS="0.3 1.0"; RELU_SEEDS=10; RELU_TIME=40000
fi
init_out relu

# ---- 1. linear: sweep + theory sweep ----
if [ $RESUME = 0 ]; then rm -f "$OUT/linear.jsonl" "$OUT/linear_theory.jsonl"; fi
/usr/bin/python3 - "$GRID" "$OUT/linear_theory_grid.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
model = {"classes", "per_class", "dim", "layers", "width", "widths", "activation", "loss", "bias",
         "lambda", "lambda_w", "lambda_h", "lambda_b", "lambda_layer"}
json.dump({"description": "theory of " + sys.argv[1], "command": "theory",
           "base": {k: v for k, v in g["base"].items() if k in model},
           "axes": {k: v for k, v in g["axes"].items() if k in model}}, open(sys.argv[2], "w"), indent=1)
PY
t0=$(now)
"$UFM_SIM" sweep "$GRID" --out "$OUT/linear.jsonl" --threads 1 --quiet
t1=$(now)
"$UFM_SIM" sweep "$OUT/linear_theory_grid.json" --out "$OUT/linear_theory.jsonl" --threads 1 --quiet
echo "linear: $(($(wc -l < "$OUT/linear.jsonl") - 1)) points in $(elapsed $t0 $t1) s -> $OUT/linear.jsonl"

# ---- 2. ReLU: single runs with saved states ----
t2=$(now)
nrelu=0
for kappa in $RELU_KAPPAS; do
  # lambda = kappa / (K n^(1/3)) with K, n from relu.json
  lam=$(/usr/bin/python3 -c "import json; c = json.load(open('$STUDY/relu.json')); print('%.15g' % ($kappa / (c['classes'] * c['per_class'] ** (1 / 3))))")
  "$UFM_SIM" theory --config "$STUDY/relu.json" --activation linear --lambda "$lam" \
      --out "$OUT/relu/kappa${kappa}_linear_theory.json"
  for init in $RELU_INITS; do
    for ((seed = 0; seed < RELU_SEEDS; seed++)); do
      name="$OUT/relu/kappa${kappa}_init${init}_seed${seed}"
      if [ $RESUME = 1 ] && [ -f "$name.json" ] && [ -f "$name.state/state.json" ]; then continue; fi
      rm -rf "$name.state"
      "$UFM_SIM" run --config "$STUDY/relu.json" --lambda "$lam" --init-scale "$init" --seed "$seed" \
          --time "$RELU_TIME" --out "$name.json" --save-state "$name.state"
      nrelu=$((nrelu + 1))
    done
  done
done
t3=$(now)
echo "relu: $nrelu runs in $(elapsed $t2 $t3) s -> $OUT/relu/"
timing_begin
timing_add linear "$(elapsed $t0 $t1)"
timing_add relu "$(elapsed $t2 $t3)"
timing_end
