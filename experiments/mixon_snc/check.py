#!/usr/bin/python3
"""Check Mixon et al.'s strong neural collapse against the init scale (theory.md §4).

usage: check.py DIR [--quick]

Claim (theory.md §4, "Strong NC"): for the unregularized, bias-free MSE UFM, gradient flow from a
Gaussian init of scale sigma ends at W W^T = sqrt(n) I, H = W^T Y / sqrt(n) up to an error that
vanishes with sigma: snc_w ~ sigma^2, and snc_h ~ sigma when d > K (a permanent floor: the part of
H outside W's row space never moves), snc_h ~ sigma^2 when d = K (no such part).
Checked: every run converged (final ||grad F|| tiny); the least-squares slope of log snc_w against
log sigma over the small-sigma range is 2, that of log snc_h is 1 for d > K and 2 for d = K.
Prints each check with its value and PASS/FAIL; exits 1 if any fails.
"""
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402


def slope(x, y):
    """Least-squares slope and intercept of log10 y against log10 x, and the max residual."""
    lx, ly = np.log10(np.asarray(x, float)), np.log10(np.asarray(y, float))
    A = np.vstack([lx, np.ones_like(lx)]).T
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    return coef[0], coef[1], float(np.max(np.abs(resid)))


def main():
    _, quick, points = study.check_setup(__doc__, trajectories=False,
                                         no_points="check.py: no points in %s/results.jsonl")

    sigma_max_fit = 0.1 + 1e-12          # the small-sigma range the power laws describe
    slope_tol = 0.2 if quick else 0.1
    grad_tol = 1e-8
    check = study.Checks(columns=(62, 28))

    bad = [p for p in points if p["exit_status"] != 0]
    check("all runs ended normally", not bad, "%d of %d" % (len(points) - len(bad), len(points)))
    gmax = max(p["final"]["grad_norm"] for p in points)
    lmax = max(p["final"]["loss"] for p in points)
    check("converged: max final ||grad F|| <= %g" % grad_tol, gmax <= grad_tol,
          "%.2e (max loss %.1e)" % (gmax, lmax))

    K = points[0]["config"]["classes"]
    dims = sorted({p["config"]["dim"] for p in points})
    for d in dims:
        pts = [p for p in points if p["config"]["dim"] == d and p["config"]["init_scale"] <= sigma_max_fit]
        sig = [p["config"]["init_scale"] for p in pts]
        seeds = len({p["config"]["seed"] for p in pts})
        lo, hi = min(sig), max(sig)
        sw, iw, rw = slope(sig, [p["final"]["snc_w"] for p in pts])
        sh, ih, rh = slope(sig, [p["final"]["snc_h"] for p in pts])
        rng = "sigma %.0e..%.0e, %d seeds" % (lo, hi, seeds)
        check("d=%d K=%d: slope of log snc_w vs log sigma = 2 +- %.2g" % (d, K, slope_tol),
              abs(sw - 2) <= slope_tol, "%.4f" % sw,
              "(%s; snc_w ~ %.3g sigma^%.2f)" % (rng, 10 ** iw, sw))
        expect_h = 1.0 if d > K else 2.0
        check("d=%d K=%d: slope of log snc_h vs log sigma = %g +- %.2g" % (d, K, expect_h, slope_tol),
              abs(sh - expect_h) <= slope_tol, "%.4f" % sh,
              "(%s; snc_h ~ %.3g sigma^%.2f; %s)" % (rng, 10 ** ih, sh, "d > K: floor ~ sigma" if d > K else "d = K"))
        if d > K:
            # our estimate, not theory.md's: the part of H outside W's row space keeps its init size
            # sigma sqrt(N (d - K)), while ||H||^2 -> ||W||^2 = tr(W W^T) = K sqrt(n) (balanced classes)
            n = points[0]["config"]["per_class"]
            est = math.sqrt(K * n * (d - K) / (K * math.sqrt(n)))
            print("  (info) d=%d: snc_h / sigma fitted %.3g; frozen-complement estimate sqrt(N (d-K) / (K sqrt n)) = %.3g"
                  % (d, 10 ** ih, est))
        smallest = [p for p in pts if p["config"]["init_scale"] == lo]
        w_small = max(p["final"]["snc_w"] for p in smallest)
        h_small = max(p["final"]["snc_h"] for p in smallest)
        # at the smallest sigma, strong NC holds to within a few sigma^2 (W) and a few sigma or sigma^2 (H)
        limit_w = 100 * lo ** 2
        limit_h = 100 * (lo if d > K else lo ** 2)
        check("d=%d: snc_w at sigma=%.0e <= 100 sigma^2 = %.1e" % (d, lo, limit_w), w_small <= limit_w,
              "%.3e" % w_small)
        check("d=%d: snc_h at sigma=%.0e <= 100 sigma%s = %.1e" % (d, lo, "" if d > K else "^2", limit_h),
              h_small <= limit_h, "%.3e" % h_small)
        big = [p for p in points if p["config"]["dim"] == d and p["config"]["init_scale"] > sigma_max_fit]
        for s in sorted({p["config"]["init_scale"] for p in big}):
            ps = [p for p in big if p["config"]["init_scale"] == s]
            print("  (info) d=%d sigma=%.3g: snc_w mean %.3g, snc_h mean %.3g (outside the small-sigma fit)"
                  % (d, s, np.mean([p["final"]["snc_w"] for p in ps]), np.mean([p["final"]["snc_h"] for p in ps])))

    check.finish()


if __name__ == "__main__":
    main()
