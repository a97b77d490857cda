#!/usr/bin/python3
"""Check `ufm-sim compare`: the SQI study's network against its matched UFM (theory.md §5 (a)).

usage: check.py DIR [--quick]

Claims:
  * the matched UFM (bias-free MSE, K classes, n = the evaluation samples per class, d = the last
    hidden width, lambda_W = lambda_H = the network's decay) has the closed-form global minimizer of
    theory.md §5 (a): s = 1 - c, c = K sqrt(n lambda_W lambda_H), F* = (1 - s)^2 / 2 + c s,
    ||W||_F^2 = ||H||_F^2 = K s sqrt(n lambda_H / lambda_W), equiangle_w = 1/(K-1),
    nc3 = 2 - 2 sqrt((K-1)/K), eps_avg = sqi_avg_gap = 1 - s;
  * gradient flow reaches it (objective to 1e-6 relative) from a random init and from the
    network's own penultimate features and classifier, and both runs end at the same minimizer
    (||H||, ||W|| equal to 1e-6);
  * the trained network is far from collapse: its nc1 is many orders of magnitude above the UFM's.
Prints each check with its value and PASS/FAIL, then the table; exits 1 if any check fails.
"""
import json
import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

TOL = 1e-6


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def main():
    directory, quick = study.check_cli(__doc__)
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    if bool(meta.get("quick")) != quick:
        sys.exit("check.py: %s holds a %s run; call check.py %s --quick" %
                 (directory, "quick" if meta.get("quick") else "full", "with" if meta.get("quick") else "without"))
    with open(os.path.join(directory, "compare.json")) as f:
        doc = json.load(f)
    net, ufm, ufn = doc["network"], doc["ufm"], doc["ufm_from_network"]
    table = {row["metric"]: row for row in doc["table"]}

    results = []

    def report(name, value, ok, detail=""):
        results.append(ok)
        print("%-76s %-26s %s" % (name, value, "PASS" if ok else "FAIL") + (("  " + detail) if detail else ""))

    print("== %s (%s): %s ==" % ("quick" if quick else "full", meta["version"], meta["command"]))
    report("compare exited 0", "%d (%.1f s wall)" % (meta["exit_status"], meta["wall_seconds"]), meta["exit_status"] == 0)
    for key, part in (("network", net), ("ufm", ufm), ("ufm_from_network", ufn)):
        print("  (info) %-17s %-9s %-52s %7.1f s" % (key, part["status"], part["message"], part["wall_seconds"]))
    ok_status = all(p["status"] in ("max_steps", "max_time", "converged") for p in (net, ufm, ufn))
    report("no run diverged or was stopped", ", ".join(p["status"] for p in (net, ufm, ufn)), ok_status)

    # ---- the UFM is the network's match ----
    nc, uc = net["config"], ufm["config"]
    K = net["model"]["K"]
    n = net["model"]["evaluation_samples"] // K
    width = net["model"]["dims"][-2]
    lam = nc["lambda"]
    match = (uc["classes"] == K and uc["per_class"] == n and uc["dim"] == width and uc["loss"] == nc["loss"]
             and uc["bias"] == "none" and uc["lambda_w"] == lam and uc["lambda_h"] == lam and uc["layers"] == 1)
    report("UFM = (K, n, d, loss, bias, lambda_W = lambda_H) of the network",
           "%d, %d, %d, %s, %s, %g = %g" % (uc["classes"], uc["per_class"], uc["dim"], uc["loss"], uc["bias"],
                                            uc["lambda_w"], uc["lambda_h"]), match,
           "(network: %s, K = %d, %d evaluation samples, lambda %g)" % (net["model"]["dims"], K,
                                                                        net["model"]["evaluation_samples"], lam))
    print("  (info) UFM dynamics: %s/%s to t = %g, tolerances %g/%g, init scale %g, seed %s" %
          (uc["dynamics"], uc["integrator"], uc["time"], uc["abs_tol"], uc["rel_tol"], uc["init_scale"], uc["seed"]))

    # ---- theory.md §5 (a), recomputed here ----
    lw, lh = uc["lambda_w"], uc["lambda_h"]
    c = K * math.sqrt(n * lw * lh)
    s = max(0.0, 1.0 - c)
    Fstar = 0.5 * (1 - s) ** 2 + c * s
    norm = math.sqrt(K * s * math.sqrt(n * lh / lw))
    pred = (doc.get("theory") or {}).get("prediction")
    report("theory prediction present (theorem a)", "%s" % (pred or {}).get("theorem"),
           pred is not None and pred.get("theorem") == "a")
    pred = pred or {}
    print("  (info) c = %.10g, s = %.10g, F* = %.12g, ||W|| = ||H|| = %.10g" % (c, s, Fstar, norm))
    worst = max(rel(pred.get("min_value", float("nan")), Fstar), rel(pred.get("s", float("nan")), s),
                rel(pred.get("w_norm", float("nan")), norm), rel(pred.get("h_norm", float("nan")), norm))
    report("ufm-sim's prediction = §5 (a)'s formulas (F*, s, ||W||, ||H||)", "max rel. diff %.1e" % worst,
           worst <= 1e-12)

    # ---- both UFM runs reach it ----
    for key, part in (("ufm", ufm), ("ufm_from_network", ufn)):
        f = part["final"]
        e = rel(f["objective"], pred.get("min_value", Fstar))
        report("%s: objective = theory.prediction.min_value to %g rel." % (key, TOL),
               "%.12g" % f["objective"], e <= TOL, "(rel. err %.1e; final ||grad F|| %.1e)" % (e, f["grad_norm"]))
        eh, ew = rel(f["h_norm"], norm), rel(f["w_norm"], norm)
        report("%s: ||H||, ||W|| = theory's to %g rel." % (key, TOL), "%.10g, %.10g" % (f["h_norm"], f["w_norm"]),
               max(eh, ew) <= TOL, "(rel. err %.1e, %.1e)" % (eh, ew))
        geo = {"equiangle_w": 1.0 / (K - 1), "nc3": 2 - 2 * math.sqrt((K - 1) / K),
               "eps_avg": 1 - s, "sqi_avg_gap": 1 - s}
        eg = max(rel(f[k], v) for k, v in geo.items())
        report("%s: equiangle_w = 1/(K-1), nc3 = 2-2sqrt((K-1)/K), eps_avg = avg gap = 1-s" % key,
               "max rel. err %.1e" % eg, eg <= TOL,
               "(%.6g, %.6g, %.6g, %.6g)" % tuple(f[k] for k in geo))
    fu, fn = ufm["final"], ufn["final"]
    dh, dw = rel(fn["h_norm"], fu["h_norm"]), rel(fn["w_norm"], fu["w_norm"])
    report("same minimizer from both starts: ||H||, ||W|| equal to %g rel." % TOL,
           "%.1e, %.1e" % (dh, dw), max(dh, dw) <= TOL,
           "(ufm %.10g, %.10g; from network %.10g, %.10g)" % (fu["h_norm"], fu["w_norm"], fn["h_norm"], fn["w_norm"]))
    do = rel(fn["objective"], fu["objective"])
    print("  (info) objectives of the two UFM runs differ by %.1e rel.; nc1 %.3g and %.3g" %
          (do, fu["nc1"], fn["nc1"]))

    # ---- the second UFM run really starts from the network ----
    c0, nf = ufn["trajectory"][0], net["final"]
    keys = ("nc1", "h_norm", "w_norm", "nc3", "eps_avg", "sqi_pointwise_gap")
    e0 = max(rel(c0[k], nf[k]) for k in keys)
    report("ufm_from_network's first checkpoint = the network's final (%s)" % ", ".join(keys),
           "max rel. diff %.1e" % e0, e0 <= 1e-9)

    # ---- the network is far from collapse ----
    unc1 = max(fu["nc1"], fn["nc1"])
    factor = nf["nc1"] / unc1
    report("network nc1 / UFM nc1 >= 1e6 (the network is far from collapse)",
           "%.3g / %.3g = %.1e" % (nf["nc1"], unc1, factor), factor >= 1e6)
    print("  (info) network at the end: train accuracy %.4f, test accuracy %.4f (whole sets: %.4f / %.4f), "
          "nc1 %.4g, nc3 %.4g, ||H|| %.4g vs the UFM's %.4g, ||W|| %.4g vs %.4g" %
          (nf["accuracy"], nf["test"]["accuracy"], net["full_sets"]["train"]["accuracy"],
           net["full_sets"]["test"]["accuracy"], nf["nc1"], nf["nc3"], nf["h_norm"], fu["h_norm"], nf["w_norm"],
           fu["w_norm"]))

    def fmt(v):
        return "-" if v is None else ("%.4g" % v)
    print("\n%-20s %12s %12s %18s %12s" % ("metric", "network", "ufm", "ufm_from_network", "theory"))
    for m, row in table.items():
        print("%-20s %12s %12s %18s %12s" % (m, fmt(row["network"]), fmt(row["ufm"]), fmt(row["ufm_from_network"]),
                                            fmt(row["theory"])))

    failed = results.count(False)
    print("\n%d checks, %d failed" % (len(results), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
