#!/usr/bin/python3
"""Check the phase-diagram study's headline claims from its results directory.

    /usr/bin/python3 experiments/phase_diagram/check.py DIR [--quick]

Claims (theory.md 5 (a), (b), (d)): on every row (loss, n, K, seed) of the lambda_W*lambda_H grid the
measured boundary (first grid point from which the final ||H||, ||W|| are ~0) lies within one grid step
of theory's (first point where the zero solution is global); every converged point's objective matches
`ufm-sim theory`'s min_value to 1e-6 relative; with lambda_W = 100 lambda_H the boundary is the same on
the product grid; convergence slows down as c -> 1 (time to ||grad F|| <= 1e-9 grows like 1/|1 - c|).
Prints each check with its measured value and PASS/FAIL; exits 1 if any fails.
"""
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

ZERO_TOL = 1e-3      # ||H||, ||W|| below this = the zero solution (converged zeros are ~1e-7)
OBJ_TOL = 1e-6       # relative error of the objective against theory's min_value
MODELS = [("mse", "none", "(a) MSE bias-free"), ("mse", "free", "(b) MSE free bias"),
          ("ce", "none", "(d) CE bias-free")]


def load(path):
    """The points of a `ufm-sim sweep` result file."""
    return [r for r in study.sweep_records(path) if r.get("type") == "point"]


def key(values, drop=("seed",)):
    return tuple(sorted((k, v) for k, v in values.items() if k not in drop))


def joined(directory, name):
    """Run points with their theory prediction attached as p['theory']."""
    runs = load(f"{directory}/{name}.jsonl")
    theory = load(f"{directory}/{name}_theory.jsonl")
    pred = {key(t["values"]): t["prediction"] for t in theory}
    for p in runs:
        p["theory"] = pred[key(p["values"])]
    return runs


def product(p):
    c = p["config"]
    return c["lambda_w"] * c["lambda_h"]


def rows(points, row_keys):
    out = {}
    for p in points:
        out.setdefault(tuple(p["values"]["seed"] if k == "seed" else p["config"][k] for k in row_keys),
                       []).append(p)
    for r in out.values():
        r.sort(key=product)
    return out


def boundary(flags):
    """Index of the first True in a False...True row; None if the row is not of that shape."""
    n = len(flags)
    i = next((j for j, f in enumerate(flags) if f), n)
    return i if all(flags[i:]) and not any(flags[:i]) else None


def is_zero(p):
    f = p["final"]
    return max(f["h_norm"], f["w_norm"]) < ZERO_TOL


def rel_obj_err(p):
    m = p["theory"]["min_value"]
    return abs(p["final"]["objective"] - m) / abs(m)


def main():
    d, quick = study.check_cli(__doc__, style="doc")
    check = study.Checks()

    # ---- 1. the phase diagram grid ----
    grid = joined(d, "grid")
    conv = [p for p in grid if p["status"] == "converged"]
    check("grid: every point converged (||grad F|| <= 1e-9)", len(conv) == len(grid),
          f"{len(conv)}/{len(grid)}")
    errs = np.array([rel_obj_err(p) for p in conv])
    check(f"grid: objective = theory min_value within {OBJ_TOL:g} (relative), every converged point",
          bool(np.all(errs <= OBJ_TOL)), f"max rel. error {errs.max():.2e} over {len(conv)} points")
    tc = sum(1 for p in conv if p.get("theory_check", {}).get("pass"))
    check("grid: --check-theory (min value, norms, W W^T eigenvalues, W H singular values) at 1e-6",
          tc == len(conv), f"{tc}/{len(conv)} pass")
    zero_norms = [max(p["final"]["h_norm"], p["final"]["w_norm"]) for p in conv if p["theory"]["zero_solution_is_global"]]
    etf_norms = [min(p["final"]["h_norm"], p["final"]["w_norm"]) for p in conv if not p["theory"]["zero_solution_is_global"]]
    check("grid: the two phases separate (max norm where theory says 0 < min norm where it says ETF)",
          max(zero_norms) < ZERO_TOL < min(etf_norms),
          f"max ||.|| in zero phase {max(zero_norms):.2e}, min ||.|| in ETF phase {min(etf_norms):.3f}")
    row_keys = ("loss", "bias", "per_class", "classes", "seed")
    diffs, bad_rows = [], []
    for r, pts in sorted(rows(grid, row_keys).items()):
        meas = boundary([is_zero(p) for p in pts])
        theo = boundary([p["theory"]["zero_solution_is_global"] for p in pts])
        if meas is None or theo is None:
            bad_rows.append(r)
            continue
        diffs.append(abs(meas - theo))
    check("grid: every row has one clean transition ETF -> 0 (measured and theory)", not bad_rows,
          f"{len(diffs)} rows clean, irregular: {bad_rows}")
    diffs = np.array(diffs)
    check("grid: measured boundary within one grid step (0.2 decades of lambda_W lambda_H) of theory, every row",
          bool(len(diffs) and np.all(diffs <= 1)),
          f"max |measured - theory| = {diffs.max() if len(diffs) else 'n/a'} steps; exact on {int(np.sum(diffs == 0))}/{len(diffs)} rows")
    for loss, bias, label in MODELS:
        sub = [p for p in conv if p["values"]["loss"] == loss and p["values"]["bias"] == bias]
        e = max(rel_obj_err(p) for p in sub)
        print(f"       {label}: {len(sub)} points, max rel. objective error {e:.1e}")

    # ---- 2. asymmetric decay: the boundary depends on the product only ----
    asym = joined(d, "asymmetric")
    conv_a = [p for p in asym if p["status"] == "converged"]
    errs = np.array([rel_obj_err(p) for p in conv_a])
    check("asymmetric (lambda_W = 100 lambda_H): every point converged, objective = theory within 1e-6",
          len(conv_a) == len(asym) and bool(np.all(errs <= OBJ_TOL)),
          f"{len(conv_a)}/{len(asym)} converged, max rel. error {errs.max():.2e}")
    sym_rows = rows([p for p in grid if p["values"]["seed"] == 0], ("loss", "bias", "per_class", "classes"))
    same, total = 0, 0
    for r, pts in sorted(rows(asym, ("loss", "bias", "per_class", "classes")).items()):
        meas = boundary([is_zero(p) for p in pts])
        ref = sym_rows.get(r)
        if ref is None:
            continue
        ref_b = boundary([is_zero(p) for p in ref])
        ok_products = np.allclose([product(p) for p in pts], [product(p) for p in ref], rtol=1e-9)
        total += 1
        same += (meas is not None and meas == ref_b and ok_products)
    check("asymmetric: same measured boundary as lambda_W = lambda_H on the same product grid",
          total > 0 and same == total, f"{same}/{total} rows")

    # ---- 3. critical slowing down near c = 1 ----
    near = joined(d, "near_threshold")
    for loss, bias, label in MODELS:
        pts = [p for p in near if p["values"]["loss"] == loss and p["values"]["bias"] == bias]
        cs = np.array([p["theory"]["thresholds"].get("c", p["theory"]["thresholds"].get("K_gamma")) for p in pts])
        crit = [p for p, c in zip(pts, cs) if abs(c - 1) < 1e-9]
        others = [(c, p) for p, c in zip(pts, cs) if abs(c - 1) >= 1e-9]
        t = np.array([p["final"]["time"] for _, p in others])
        x = np.array([abs(c - 1) for c, _ in others])
        conv_ok = all(p["status"] == "converged" for _, p in others)
        slope = np.polyfit(np.log(x[x <= 0.2]), np.log(t[x <= 0.2]), 1)[0]
        lo = (-1.3, -0.7) if not quick else (-1.6, -0.4)
        check(f"near threshold {label}: all c != 1 converge, time to converge ~ |1-c|^slope, slope in {lo}",
              conv_ok and lo[0] <= slope <= lo[1],
              f"slope {slope:.2f} (|1-c| <= 0.2), t = {t[np.argmin(x)]:.3g} at |1-c| = {x.min():.3g} vs {t[np.argmax(x)]:.3g} at {x.max():.3g}")
        conv_pts = [p for _, p in others]
        oerr = max(rel_obj_err(p) for p in conv_pts)
        state_fail = sorted(round(c, 3) for c, p in others if not p["theory_check"]["pass"])
        check(f"near threshold {label}: objective = theory within 1e-6 at every c != 1",
              oerr <= OBJ_TOL, f"max rel. error {oerr:.1e}; --check-theory (norms, spectra) fails at c = {state_fail}")
        for p in crit:
            print(f"       {label} at c = 1: status {p['status']} at t = {p['final']['time']:.3g}, "
                  f"||H|| = {p['final']['h_norm']:.2e} (theory 0), objective rel. error {rel_obj_err(p):.1e}")

    check.finish()


if __name__ == "__main__":
    main()
