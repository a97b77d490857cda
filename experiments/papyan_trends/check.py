#!/usr/bin/python3
"""Check Papyan, Han & Donoho's four neural-collapse trends in the UFM runs of run.sh.

usage: check.py DIR [--quick]

For every (loss, lambda, bias) group of the sweep, over all its seeds (the worst seed counts),
compares the first checkpoint (the random init, t = 0) with the last one:

* regularized (lambda > 0): gradient flow reaches the global minimizer of theory.md §5 (a), (b), (d),
  so NC1, NC2 of both sides and NC3 collapse exactly: every metric falls by >= 1e8 (quick 1e4).
  Exception, theory.md §5 (a): bias-free MSE, where W's rows and the uncentered class means form a
  self-dual *orthogonal* frame, so equiangle_w -> 1/(K-1), etf_error_w -> sqrt(2 - 2 sqrt((K-1)/K)),
  nc3 -> 2 - 2 sqrt((K-1)/K); these three are compared with their limits (relative error <= 1e-6,
  quick 1e-3), and equinorm_w still falls by >= 1e8 (1e4).
* unregularized CE (theory.md §5 (e)): the direction converges to the self-dual simplex ETF, but only
  polylogarithmically: nc1 and nc3 fall by >= 100, the NC2 metrics by >= 3, and every metric is still
  falling at the end (last value below the value two decades of t earlier).
* unregularized MSE: the flow stops at an interpolating point whose distance from collapse is set by
  the init scale sigma = 0.1 (strong NC, theory.md §4): nc1 falls by >= 100, the H-side NC2 metrics
  by >= 3; bias-free, the W side ends near the orthogonal frame of §5 (a) (each of the three limits
  within 0.05, about sigma/2); with a free bias, the W-side NC2 metrics fall by >= 3 and nc3 by >= 10.
* NC4 in every group: the NCC mismatch is >= 0.5 at init and exactly 0 at the end.
Prints each check with its measured value and PASS/FAIL; exits 1 if any fails.
"""
import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

H_SIDE = ["equinorm_h", "equiangle_h", "etf_error_h"]
W_SIDE = ["equinorm_w", "equiangle_w", "etf_error_w"]
ALL = ["nc1"] + H_SIDE + W_SIDE + ["nc3"]


def fall(first, last):
    if last is None or first is None:
        return float("nan")
    return float("inf") if last == 0 else first / last


def frame_limits(K):
    r = math.sqrt((K - 1) / K)
    return {"equiangle_w": 1 / (K - 1), "etf_error_w": math.sqrt(2 - 2 * r), "nc3": 2 - 2 * r}


def main():
    _, quick, points = study.check_setup(__doc__)
    exact = 1e4 if quick else 1e8
    frame_rel = 1e-3 if quick else 1e-6
    check = study.Checks(columns=(58, 22), indent="  ")

    groups = {}
    for p in points:
        c = p["config"]
        groups.setdefault((c["loss"], c["lambda"], c["bias"]), []).append(p)

    for (loss, lam, bias), pts in groups.items():
        K = pts[0]["config"]["classes"]
        T = pts[0]["trajectory"][-1]["time"]
        print("%s, lambda=%g, bias=%s (K=%d, n=%d, d=%d, t=0..%g, %d seeds; worst seed shown)"
              % (loss.upper(), lam, bias, K, pts[0]["config"]["per_class"], pts[0]["config"]["dim"], T, len(pts)))
        ok_status = all(p["exit_status"] == 0 for p in pts)
        check("runs ended normally", ok_status, "%d of %d" % (sum(p["exit_status"] == 0 for p in pts), len(pts)))

        def min_fall(metric):
            return min(fall(p["trajectory"][0][metric], p["trajectory"][-1][metric]) for p in pts)

        def check_fall(metric, factor):
            f = min_fall(metric)
            check("%s falls by >= %g" % (metric, factor), f >= factor, "%.3g x" % f)

        def check_limit(metric, target, tol, relative):
            worst = max((p["trajectory"][-1][metric] for p in pts), key=lambda v: abs(v - target))
            dev = abs(worst - target) / (abs(target) if relative else 1.0)
            check("%s -> %.6g (%s dev. <= %g)" % (metric, target, "rel." if relative else "abs.", tol),
                  dev <= tol, "%.6g (dev %.2g)" % (worst, dev))

        frame = frame_limits(K)
        if lam > 0:
            if loss == "mse" and bias == "none":
                for m in ["nc1"] + H_SIDE + ["equinorm_w"]:
                    check_fall(m, exact)
                for m in ["equiangle_w", "etf_error_w", "nc3"]:
                    check_limit(m, frame[m], frame_rel, True)
            else:
                for m in ALL:
                    check_fall(m, exact)
        elif loss == "ce":
            for m in ALL:
                check_fall(m, 100 if m in ("nc1", "nc3") else 3)
            for m in ALL:
                worst = 0.0
                for p in pts:
                    tr = p["trajectory"]
                    i = min(range(len(tr)), key=lambda j: abs(math.log(max(tr[j]["time"], 1e-300) / (T / 100))))
                    worst = max(worst, tr[-1][m] / tr[i][m])
                check("%s still falling: value(T) / value(T/100) < 1" % m, worst < 1, "%.3g" % worst)
        else:  # unregularized MSE
            check_fall("nc1", 100)
            for m in H_SIDE:
                check_fall(m, 3)
            if bias == "none":
                check_fall("equinorm_w", 3)
                for m in ["equiangle_w", "etf_error_w", "nc3"]:
                    check_limit(m, frame[m], 0.05, False)
            else:
                for m in W_SIDE:
                    check_fall(m, 3)
                check_fall("nc3", 10)
        first4 = min(p["trajectory"][0]["nc4"] for p in pts)
        last4 = max(p["trajectory"][-1]["nc4"] for p in pts)
        check("nc4: >= 0.5 at init, 0 at the end", first4 >= 0.5 and last4 == 0, "%.3g -> %.3g" % (first4, last4))

    check.finish()


if __name__ == "__main__":
    main()
