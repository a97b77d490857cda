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
import argparse
import json
import math
import os
import sys

import numpy as np


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
            p["doc"] = json.load(f)
    return points


def check_mode(directory, quick):
    path = os.path.join(directory, "meta.json")
    if os.path.exists(path):
        with open(path) as f:
            made_quick = json.load(f).get("quick")
        if made_quick is not None and bool(made_quick) != quick:
            sys.exit("check.py: %s holds a %s run; call check.py %s --quick" %
                     (directory, "quick" if made_quick else "full", "with" if made_quick else "without"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--quick", action="store_true", help="looser thresholds for run.sh --quick")
    args = ap.parse_args()
    check_mode(args.dir, args.quick)
    points = load(args.dir)
    if not points:
        sys.exit("check.py: no points in %s" % args.dir)

    err_bound = 1e-2 if args.quick else 1e-3
    slope_tol = 0.05 if args.quick else 0.02
    const_tol = 0.05 if args.quick else 0.01
    outcomes = []

    def report(name, value, ok):
        outcomes.append(ok)
        print("%-66s %-14s %s" % (name, value, "PASS" if ok else "FAIL"))

    for p in points:
        doc = p["doc"]
        pv, a0 = doc["input"]["p"], doc["input"]["a0"]
        tag = "p=(%g,%g,%g) a0=(%g,%g,%g)" % (*pv, *a0)
        tr = doc["trajectory"]
        T = tr[-1]["t"]
        limit = doc["limit"]
        report("%s: limit = log(p3/(2p1))" % tag, "%.6f" % limit,
               abs(limit - math.log(pv[2] / (2 * pv[0]))) < 1e-12 and p["exit_status"] == 0)
        err = tr[-1]["error"]
        report("  |h(1)-h(-1) - limit| at t=%.0e <= %.0e" % (T, err_bound), "%.3e" % abs(err), abs(err) <= err_bound)
        t = np.array([c["t"] for c in tr])
        e = np.array([c["error"] for c in tr])
        sel = (t >= T / 100) & (e != 0)
        if np.all(np.sign(e[sel]) == np.sign(e[sel][0])) and sel.sum() >= 3:
            slope = np.polyfit(np.log10(t[sel]), np.log10(np.abs(e[sel])), 1)[0]
        else:
            slope = float("nan")          # the error changes sign: no power law to fit
        report("  slope of log|error| vs log t on [%.0e, %.0e] = -1 +- %g" % (T / 100, T, slope_tol),
               "%.4f" % slope, abs(slope + 1) <= slope_tol)
        # t * error at the checkpoint nearest T/10 and at T
        i10 = int(np.argmin(np.abs(np.log(t[1:] / (T / 10))))) + 1
        c10, cT = t[i10] * e[i10], T * e[-1]
        rel = abs(cT - c10) / abs(cT) if cT != 0 else float("inf")
        report("  t*error constant: %.4g (t=%.0e) vs %.4g (t=%.0e), rel. change <= %g" % (c10, t[i10], cT, T, const_tol),
               "%.2e" % rel, rel <= const_tol)
        gap = tr[-1]["gap"]
        if abs(pv[2] - 2 * pv[0]) < 1e-12:
            report("  p3 = 2 p1: the two points collapse, |h(1)-h(-1)| <= %.0e" % err_bound, "%.3e" % abs(gap),
                   abs(gap) <= err_bound)
        else:
            report("  p3 != 2 p1: no collapse, |h(1)-h(-1)| > 0.1", "%.4f" % abs(gap), abs(gap) > 0.1)

    failed = outcomes.count(False)
    print("%d checks, %d failed" % (len(outcomes), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
