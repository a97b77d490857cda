#!/usr/bin/python3
"""Check Wojtowytsch & E's shallow-network toy (theory.md §5 (g)).

usage: check.py DIR [--quick]

Claim: along the gradient flow of R(a) = p1 e^{-a1} + p2 e^{-a2} + p3 e^{a2-a3},
h(1) - h(-1) = a3 - a2 - a1 -> log(p3/(2 p1)) from any a(0), with error O(1/t); so the two points
of the class {-1, 1} end at different values unless p3 = 2 p1.
Checked for every (p, a(0)) run: |error(T)| below a bound (1e-3 full, 1e-2 quick), the slope of
log|error| against log t over the last two decades is -1, t * error is constant over the last decade
(relative change), and the limit separates the two points (|limit| > 0.1) exactly when p3 != 2 p1.
Prints each check with its value and PASS/FAIL; exits 1 if any fails.
"""
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402


def main():
    _, quick, points = study.check_setup(__doc__)

    err_bound = 1e-2 if quick else 1e-3
    slope_tol = 0.05 if quick else 0.02
    const_tol = 0.05 if quick else 0.01
    check = study.Checks(columns=(66, 14))

    for p in points:
        doc = p["doc"]
        pv, a0 = doc["config"]["p"], doc["config"]["a0"]
        tag = "p=(%g,%g,%g) a0=(%g,%g,%g)" % (*pv, *a0)
        tr = doc["trajectory"]
        T = tr[-1]["t"]
        limit = doc["limit"]
        check("%s: limit = log(p3/(2p1))" % tag,
              abs(limit - math.log(pv[2] / (2 * pv[0]))) < 1e-12 and p["exit_status"] == 0, "%.6f" % limit)
        err = tr[-1]["error"]
        check("  |h(1)-h(-1) - limit| at t=%.0e <= %.0e" % (T, err_bound), abs(err) <= err_bound, "%.3e" % abs(err))
        t = np.array([c["t"] for c in tr])
        e = np.array([c["error"] for c in tr])
        sel = (t >= T / 100) & (e != 0)
        if np.all(np.sign(e[sel]) == np.sign(e[sel][0])) and sel.sum() >= 3:
            slope = np.polyfit(np.log10(t[sel]), np.log10(np.abs(e[sel])), 1)[0]
        else:
            slope = float("nan")          # the error changes sign: no power law to fit
        check("  slope of log|error| vs log t on [%.0e, %.0e] = -1 +- %g" % (T / 100, T, slope_tol),
              abs(slope + 1) <= slope_tol, "%.4f" % slope)
        # t * error at the checkpoint nearest T/10 and at T
        i10 = int(np.argmin(np.abs(np.log(t[1:] / (T / 10))))) + 1
        c10, cT = t[i10] * e[i10], T * e[-1]
        rel = abs(cT - c10) / abs(cT) if cT != 0 else float("inf")
        check("  t*error constant: %.4g (t=%.0e) vs %.4g (t=%.0e), rel. change <= %g" % (c10, t[i10], cT, T, const_tol),
              rel <= const_tol, "%.2e" % rel)
        gap = tr[-1]["gap"]
        if abs(pv[2] - 2 * pv[0]) < 1e-12:
            check("  p3 = 2 p1: the two points collapse, |h(1)-h(-1)| <= %.0e" % err_bound, abs(gap) <= err_bound,
                  "%.3e" % abs(gap))
        else:
            check("  p3 != 2 p1: no collapse, |h(1)-h(-1)| > 0.1", abs(gap) > 0.1, "%.4f" % abs(gap))

    check.finish()


if __name__ == "__main__":
    main()
