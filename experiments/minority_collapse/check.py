#!/usr/bin/python3
"""Check the minority-collapse study's claims from its results directory.

    /usr/bin/python3 experiments/minority_collapse/check.py DIR [--quick]

Claim (Fang et al. 2021; theory.md 5 (f)): in the regularized CE UFM with K_maj majority classes, the
mean pairwise cosine of the minority classifier rows (minority_cosine_mean) rises sharply to > 0.99 past
a finite imbalance ratio R* that depends on lambda, and stays there (the rows coincide). Checked for
every lambda of the grid: R* exists, cos >= 1 - 1e-6 for all R >= R*, the last grid point below R* is
far from 1 (a jump over one grid step), cos is nondecreasing in R; R* falls as lambda grows.
R is the realized ratio n_maj / n_min with n_min = max(1, round(n / R_nominal)).
Prints each check with its measured value and PASS/FAIL; exits 1 if any fails.
"""
import math
import os
import sys
from collections import defaultdict

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

COLLAPSE = 0.99


def load(path):
    """The points of a `ufm-sim sweep` result file; none if there is no such file."""
    return study.sweep_records(path, missing_ok=True)


def counts(p):
    """Class counts of a point: explicit, or ufm-sim's rule for --imbalance."""
    c = p["config"]
    if c.get("class_counts"):
        return list(c["class_counts"])
    n, K, kmaj = c["per_class"], c["classes"], c["majority_classes"]
    nmin = max(1, int(math.floor(n / c["imbalance"] + 0.5)))
    return [n] * kmaj + [nmin] * (K - kmaj)


def curves(points):
    """lambda -> sorted list of (R, cos, point), one per realized ratio R = n_maj / n_min."""
    out = defaultdict(dict)
    for p in points:
        cc = counts(p)
        R = max(cc) / min(cc)
        out[p["config"]["lambda"]][round(R, 9)] = (R, p["final"]["minority_cosine_mean"], p)
    return {lam: sorted(v.values(), key=lambda t: t[0]) for lam, v in out.items()}


def threshold(curve):
    """(R_below, cos_below, R_star) with R_star the smallest R with cos > COLLAPSE."""
    for i, (R, c, _) in enumerate(curve):
        if c is not None and c > COLLAPSE:
            return (curve[i - 1][0], curve[i - 1][1], R) if i else (None, None, R)
    return None


def main():
    d, quick = study.check_cli(__doc__, style="doc")
    check = study.Checks()
    grid = load(f"{d}/grid.jsonl")
    conv = [p for p in grid if p["status"] == "converged"]
    check("grid: every point converged (||grad F|| <= 1e-9)", len(conv) == len(grid) and grid,
          f"{len(conv)}/{len(grid)}" + ("" if len(conv) == len(grid) else
          f"; not: {[(p['values']['lambda'], round(p['values']['imbalance'], 2), p['status']) for p in grid if p['status'] != 'converged']}"))
    cur = curves(grid)
    jump_max = 0.95 if quick else 0.9
    stars = {}
    for lam in sorted(cur):
        c = cur[lam]
        t = threshold(c)
        check(f"lambda={lam:g}: a finite R* (first R with minority_cosine_mean > {COLLAPSE})", t is not None and t[0] is not None,
              f"R* = {t[2]:.4g}, bracket ({t[0]:.4g}, {t[2]:.4g}], cos {t[1]:.3f} -> {[x for x in c if x[0] == t[2]][0][1]:.12f}"
              if t and t[0] else f"{t}")
        if not t or t[0] is None:
            continue
        stars[lam] = t
        after = [x[1] for x in c if x[0] >= t[2]]
        check(f"lambda={lam:g}: collapsed for every R >= R* (cos >= 1 - 1e-6: the minority rows coincide)",
              min(after) >= 1 - 1e-6, f"min cos {min(after):.10f} over {len(after)} ratios up to R = {c[-1][0]:.4g}")
        check(f"lambda={lam:g}: sharp: at the grid point below R* cos <= {jump_max}", t[1] <= jump_max,
              f"cos {t[1]:.3f} at R = {t[0]:.4g}, {c[0][1]:.3f} at R = {c[0][0]:.3g}")
        cs = np.array([x[1] for x in c])
        check(f"lambda={lam:g}: cos nondecreasing in R", bool(np.all(np.diff(cs) >= -1e-6)),
              f"largest decrease {max(0.0, -np.diff(cs).min()):.1e}")
    lams = sorted(stars)
    rs = [stars[l][2] for l in lams]
    check("R* decreases as lambda grows", len(lams) >= 2 and all(a > b for a, b in zip(rs, rs[1:])),
          ", ".join(f"lambda {l:g}: R* in ({stars[l][0]:.4g}, {stars[l][2]:.4g}]" for l in lams))
    if len(lams) >= 2:
        mid = [math.sqrt(stars[l][0] * stars[l][2]) for l in lams]
        slope = np.polyfit(np.log(lams), np.log(mid), 1)[0]
        print(f"       log-log slope of R* (bracket midpoint) against lambda: {slope:.2f}; R* lambda^2 = "
              + ", ".join(f"{m * l * l:.2e}" for m, l in zip(mid, lams)))
    for lam in lams:
        R = stars[lam][2]
        p = [x[2] for x in cur[lam] if x[0] == R][0]["final"]
        print(f"       lambda={lam:g} at R*: minority |w| {p['minority_w_norm_mean']:.3f}, majority |w| "
              f"{p['majority_w_norm_mean']:.3f}, min margin {p['min_margin']:.2e} (minority samples barely separated)")

    for lam in lams:
        R, cs, p = cur[lam][-1]
        f = p["final"]
        print(f"       lambda={lam:g} at the largest R = {R:.4g}: cos {cs:.12f}, minority |w| {f['minority_w_norm_mean']:.2e}, "
              f"majority |w| {f['majority_w_norm_mean']:.3f}, min margin {f['min_margin']:.1e}, training accuracy {f['accuracy']:.4f}")

    ref = load(f"{d}/refine.jsonl")
    if ref:
        rconv = [p for p in ref if p["status"] == "converged"]
        check("refine: every point converged", len(rconv) == len(ref), f"{len(rconv)}/{len(ref)}")
        rc = curves(ref)
        for lam in sorted(rc):
            both = sorted({round(x[0], 9): x for x in rc[lam] + cur.get(lam, [])}.values(), key=lambda t: t[0])
            t = threshold(both)
            inside = [x for x in rc[lam] if lam in stars and stars[lam][0] < x[0] <= stars[lam][2]]
            if not inside or t is None:
                continue
            fine_ok = stars[lam][0] <= t[0] and t[2] <= stars[lam][2] and all(x[1] >= 1 - 1e-6 for x in both if x[0] >= t[2])
            check(f"refine lambda={lam:g}: R* bracketed inside the coarse bracket, collapsed (cos >= 1 - 1e-6) past it",
                  fine_ok, f"R* in ({t[0]:.4g}, {t[2]:.4g}] (coarse ({stars[lam][0]:.4g}, {stars[lam][2]:.4g}]), "
                  f"cos {t[1]:.3f} -> {[x for x in both if x[0] == t[2]][0][1]:.10f}")
            below = [x for x in both if x[0] < t[2]]
            if len(below) >= 2:
                (ra, ca, _), (rb, cb, _) = below[-2], below[-1]
                r0 = rb + (1 - cb) * (rb - ra) / ((1 - ca) - (1 - cb))
                check(f"refine lambda={lam:g}: continuous approach: 1 - cos extrapolated linearly from the last two "
                      f"points below hits 0 inside the bracket (angle ~ sqrt(R* - R))",
                      t[0] < r0 <= t[2] * (1.05 if quick else 1.0),
                      f"1 - cos = {1 - ca:.3f}, {1 - cb:.3f} at R = {ra:.4g}, {rb:.4g} -> 0 at R = {r0:.4g}")
            print("       " + ", ".join(f"R={x[0]:.4g}: {x[1]:.4f}" for x in inside))
    check.finish()


if __name__ == "__main__":
    main()
