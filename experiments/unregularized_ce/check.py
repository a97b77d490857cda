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
import argparse
import json
import math
import os
import sys

import numpy as np

WIGGLE = 1e-9


def load(directory):
    points = []
    with open(os.path.join(directory, "results.jsonl")) as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                if rec.get("type") == "point":
                    points.append(rec)
    points.sort(key=lambda p: p["index"])
    for p in points:
        with open(os.path.join(directory, "trajectories", p["id"] + ".json")) as f:
            p["trajectory"] = json.load(f)["trajectory"]
    return points


def check_mode(directory, quick):
    path = os.path.join(directory, "meta.json")
    if os.path.exists(path):
        with open(path) as f:
            made_quick = json.load(f).get("quick")
        if made_quick is not None and bool(made_quick) != quick:
            sys.exit("check.py: %s holds a %s run; call check.py %s --quick" %
                     (directory, "quick" if made_quick else "full", "with" if made_quick else "without"))


def max_margin(K, N):
    return K / (2 * (K - 1) * math.sqrt(K * N))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--quick", action="store_true", help="looser thresholds for run.sh --quick")
    args = ap.parse_args()
    check_mode(args.dir, args.quick)
    points = load(args.dir)
    if not points:
        sys.exit("check.py: no points in %s" % args.dir)
    outcomes = []

    def report(name, value, ok):
        outcomes.append(ok)
        print("  %-64s %-22s %s" % (name, value, "PASS" if ok else "FAIL"))

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
        report("run ended normally", "exit %d" % p["exit_status"], p["exit_status"] == 0)
        report("normalized margin <= max margin %.6f at every checkpoint" % mmax, "max %.6f" % m.max(),
               bool(np.all(m <= mmax * (1 + 1e-12))))
        sep = int(np.argmax(raw > 0)) if np.any(raw > 0) else len(raw) - 1
        drop = float(np.max(-np.diff(m[sep:]))) if len(m) - sep > 1 else 0.0
        report("margin non-decreasing from separation (t=%.3g; drop <= %g)" % (t[sep], WIGGLE),
               "largest drop %.2g" % max(drop, 0.0), drop <= WIGGLE)
        rise = float(np.max(np.diff(dist)))
        report("distance non-increasing over the run (rise <= %g)" % WIGGLE, "largest rise %.2g" % max(rise, 0.0),
               rise <= WIGGLE)
        dist_bound = 0.5 if (args.quick or K > 6) else 0.1
        report("distance at t=%.0e < %g" % (t[-1], dist_bound), "%.4f (init %.3f)" % (dist[-1], dist[0]),
               dist[-1] < dist_bound)
        gap_bound = 0.15 if args.quick else (0.05 if K <= 6 else 0.10)
        gap = 1 - m[-1] / mmax
        report("margin at the end within %g%% of the maximum" % (100 * gap_bound), "%.6f (gap %.2f%%)" % (m[-1], 100 * gap),
               gap <= gap_bound)
        sel = t >= 1e4
        if sel.sum() >= 5:
            a = -np.polyfit(np.log(np.log(t[sel])), np.log([tr[i]["nc3"] for i in np.where(sel)[0]]), 1)[0]
            if not args.quick and K <= 6:
                report("nc3 ~ (log t)^-a over t >= 1e4, a in [0.8, 1.2]", "a = %.3f" % a, 0.8 <= a <= 1.2)
            else:
                print("  (info) nc3 ~ (log t)^-a over t >= 1e4: a = %.3f" % a)

    failed = outcomes.count(False)
    print("%d checks, %d failed" % (len(outcomes), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
