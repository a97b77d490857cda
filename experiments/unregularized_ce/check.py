#!/usr/bin/python3
"""Check Ji et al.'s unregularized CE UFM (theory.md §5 (e)) in the runs of run.sh.

usage: check.py DIR [--quick]

Claim: with lambda = 0 the CE gradient flow diverges in norm while (W, H)/||(W, H)|| converges to
the max-margin direction, a self-dual simplex ETF, polylogarithmically slowly (nc3 ~ 1/log t).
For the bias-free UFM the largest normalized margin min-margin/(||W||^2 + ||H||^2) is
K / (2 (K-1) sqrt(K N)) (reached exactly at the self-dual simplex ETF with ||W||^2 = ||H||^2).
Checked for every run:
* the normalized margin never exceeds that maximum, and is non-decreasing from the first
  checkpoint where every sample is classified with a positive margin (rises of at most 1e-9 allowed);
* self_dual_etf_distance is non-increasing over the whole run (rises of at most 1e-9 allowed);
* the distance at the end is below 0.1 for K <= 6 and below 0.5 for K = 10 (quick: 0.5 for all K),
  and the normalized margin at the end is within 5% (K <= 6) or 10% (K = 10) of the maximum
  (quick: 15%);
* full runs, K <= 6: nc3 ~ (log t)^-a with a in [0.8, 1.2] over t >= 1e4 (theory.md: nc3 ~ 1/log t).
Prints each check with its measured value and PASS/FAIL; exits 1 if any fails.
"""
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

WIGGLE = 1e-9


def max_margin(K, N):
    return K / (2 * (K - 1) * math.sqrt(K * N))


def main():
    _, quick, points = study.check_setup(__doc__)
    check = study.Checks(columns=(64, 22), indent="  ")

    for p in points:
        c = p["config"]
        K, N = c["classes"], c["classes"] * c["per_class"]
        tr = p["trajectory"]
        t = np.array([x["time"] for x in tr])
        m = np.array([x["normalized_min_margin"] for x in tr])
        dist = np.array([x["self_dual_etf_distance"] for x in tr])
        raw = np.array([x["min_margin"] for x in tr])
        mmax = max_margin(K, N)
        print("K=%d n=%d d=%d seed=%d, t = 0..%g (%s)" % (K, c["per_class"], c["dim"], c["seed"], t[-1], p["message"]))
        check("run ended normally", p["exit_status"] == 0, "exit %d" % p["exit_status"])
        check("normalized margin <= max margin %.6f at every checkpoint" % mmax,
              bool(np.all(m <= mmax * (1 + 1e-12))), "max %.6f" % m.max())
        sep = int(np.argmax(raw > 0)) if np.any(raw > 0) else len(raw) - 1
        drop = float(np.max(-np.diff(m[sep:]))) if len(m) - sep > 1 else 0.0
        check("margin non-decreasing from separation (t=%.3g; drop <= %g)" % (t[sep], WIGGLE),
              drop <= WIGGLE, "largest drop %.2g" % max(drop, 0.0))
        rise = float(np.max(np.diff(dist)))
        check("distance non-increasing over the run (rise <= %g)" % WIGGLE, rise <= WIGGLE,
              "largest rise %.2g" % max(rise, 0.0))
        dist_bound = 0.5 if (quick or K > 6) else 0.1
        check("distance at t=%.0e < %g" % (t[-1], dist_bound), dist[-1] < dist_bound,
              "%.4f (init %.3f)" % (dist[-1], dist[0]))
        gap_bound = 0.15 if quick else (0.05 if K <= 6 else 0.10)
        gap = 1 - m[-1] / mmax
        check("margin at the end within %g%% of the maximum" % (100 * gap_bound), gap <= gap_bound,
              "%.6f (gap %.2f%%)" % (m[-1], 100 * gap))
        sel = t >= 1e4
        if sel.sum() >= 5:
            a = -np.polyfit(np.log(np.log(t[sel])), np.log([tr[i]["nc3"] for i in np.where(sel)[0]]), 1)[0]
            if not quick and K <= 6:
                check("nc3 ~ (log t)^-a over t >= 1e4, a in [0.8, 1.2]", 0.8 <= a <= 1.2, "a = %.3f" % a)
            else:
                print("  (info) nc3 ~ (log t)^-a over t >= 1e4: a = %.3f" % a)

    check.finish()


if __name__ == "__main__":
    main()
