#!/usr/bin/python3
"""Check the Tirer & Bruna study's claims from its results directory.

    /usr/bin/python3 experiments/tirer_bruna/check.py DIR [--quick]

Linear 2-layer UFM (theory.md 5 (c)): every converged run sits at one of the stationary points (c)
predicts, W2 W1 H1bar with r singular values s+ (the local minimizer of
phi(s) = (1-s)^2/2 + (3/2) kappa s^(2/3)) and K-r zeros, objective ((K-r)/2 + r phi(s+))/K; the
full-rank ones below kappa = 2^(-4/3) and the zero ones above it pass --check-theory; NC1 holds in
H1 and S1 = W1 H1; rank-deficient local minima are reported by kappa and init scale.
ReLU variant: the runs that reach the linear model's minimum value show NC1 in H1 and S1 and
orthogonal (non-negative) class means of S1 = relu(W1 H1).
Prints each check with its measured value and PASS/FAIL; exits 1 if any fails.
"""
import glob
import json
import os
import re
import sys
from collections import Counter, defaultdict

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

THR = 2 ** (-4 / 3)                 # the nonzero solution is the global minimum iff kappa < THR
KAPPA_MAX = 3 * 4 ** (-4 / 3)       # u^4 - u + kappa = 0 has positive roots iff kappa <= KAPPA_MAX
RANK_TOL = 1e-3                     # singular values of W2 W1 H1bar above this count (nonzero ones are >= 0.25)
REL = 1e-6


def phi(s, kappa):
    return 0.5 * (1 - s) ** 2 + 1.5 * kappa * s ** (2 / 3)


def s_plus(kappa):
    """The local minimizer s = u^3 > 0 of phi (largest root of u^4 - u + kappa = 0), or None."""
    r = np.roots([1, 0, 0, -1, kappa])
    r = r[np.abs(r.imag) < 1e-9].real
    r = r[r > 0]
    return float(r.max() ** 3) if len(r) else None


def f_rank(r, kappa, K):
    sp = s_plus(kappa)
    return ((K - r) / 2 + (r * phi(sp, kappa) if r else 0.0)) / K


def linear(d, check, quick):
    runs = study.sweep_records(f"{d}/linear.jsonl")
    theory = {t["values"]["lambda"]: t["prediction"] for t in study.sweep_records(f"{d}/linear_theory.jsonl")}
    K = runs[0]["config"]["classes"]
    conv = [p for p in runs if p["status"] == "converged"]
    check("linear: every run converged (||grad F|| <= 1e-9)", len(conv) == len(runs), f"{len(conv)}/{len(runs)}")

    # my reading of (c) against `ufm-sim theory`
    errs = []
    for lam, pr in theory.items():
        kappa = pr["kappa"]
        if kappa < THR:
            errs += [abs(f_rank(K, kappa, K) - pr["min_value"]) / pr["min_value"], abs(s_plus(kappa) - pr["s"]) / pr["s"]]
        else:
            errs += [abs(pr["min_value"] - 0.5)]
    check("linear: ((K-r)/2 + r phi(s+))/K at r = K and s+ reproduce `ufm-sim theory` (min_value, s)",
          max(errs) < 1e-9, f"max rel. difference {max(errs):.1e}")

    obj_err, sv_err, sep_lo, sep_hi = [], [], [], []
    table = defaultdict(Counter)
    nc1_max, etf_max = 0.0, 0.0
    tc_full, tc_full_n, tc_zero, tc_zero_n, above = 0, 0, 0, 0, []
    for p in conv:
        pr = theory[p["values"]["lambda"]]
        kappa = pr["kappa"]
        sv = np.array(p["final"]["wh_singular_values"])
        r = int(np.sum(sv > RANK_TOL))
        sep_lo.append(sv[sv > RANK_TOL].min() if r else np.inf)
        sep_hi.append(sv[sv <= RANK_TOL].max() if r < K else 0.0)
        table[(round(kappa, 4), p["values"]["init_scale"])][r] += 1
        obj_err.append(abs(p["final"]["objective"] - f_rank(r, kappa, K)) / f_rank(r, kappa, K))
        if r:
            sv_err.append(np.max(np.abs(sv[sv > RANK_TOL] - s_plus(kappa))) / s_plus(kappa))
            lv = p["final"]["levels"]
            nc1_max = max(nc1_max, lv["H1"]["nc1"], lv["S1"]["nc1"])
        if r == K:
            lv = p["final"]["levels"]
            etf_max = max(etf_max, lv["H1"]["etf_error_h"], lv["S1"]["etf_error_h"])
        if r == K and kappa < THR:
            tc_full_n += 1
            tc_full += p["theory_check"]["pass"]
        if r == 0 and kappa >= THR:
            tc_zero_n += 1
            tc_zero += p["theory_check"]["pass"]
        if kappa > KAPPA_MAX:
            above.append(r)
    check("linear: ranks are unambiguous (nonzero singular values of W2 W1 H1bar vs zero ones)",
          min(sep_lo) > 0.2 and max(sep_hi) < 1e-6, f"smallest nonzero {min(sep_lo):.3f}, largest zero {max(sep_hi):.1e}")
    check("linear: every converged run's objective = ((K-r)/2 + r phi(s+))/K for its rank r, within 1e-6",
          max(obj_err) <= REL, f"max rel. error {max(obj_err):.1e} over {len(obj_err)} runs")
    check("linear: every nonzero singular value of W2 W1 H1bar = s+(kappa), within 1e-6",
          max(sv_err) <= REL, f"max rel. error {max(sv_err):.1e}")
    check("linear: full-rank runs with kappa < 2^(-4/3) pass --check-theory (value, norms, spectra, ||W1|| at 1e-6)",
          tc_full == tc_full_n and tc_full_n > 0, f"{tc_full}/{tc_full_n}")
    check("linear: zero runs with kappa >= 2^(-4/3) pass --check-theory", tc_zero == tc_zero_n and tc_zero_n > 0,
          f"{tc_zero}/{tc_zero_n}")
    if above:
        check(f"linear: kappa > 3*4^(-4/3) = {KAPPA_MAX:.4f} (no nonzero stationary point): every run ends at 0",
              all(r == 0 for r in above), f"{sum(r == 0 for r in above)}/{len(above)}")
    check("linear: NC1 in H1 and in S1 = W1 H1 at every nonzero run (nc1 <= 1e-12)", nc1_max <= 1e-12,
          f"max nc1 {nc1_max:.1e}")
    check("linear: NC2 (simplex ETF of centered means) in H1 and S1 at every full-rank run (etf_error <= 1e-6)",
          etf_max <= 1e-6, f"max etf_error_h {etf_max:.1e}")

    # frequency of rank-deficient minima
    inits = sorted({k[1] for k in table})
    kappas = sorted({k[0] for k in table})
    print("       rank of the final W2 W1 H1bar (counts over seeds); * = nonzero global minimum exists (kappa < 2^(-4/3))")
    print("       kappa   " + "  ".join(f"init {i:<4g} r=0..{K}".ljust(22) for i in inits))
    for k in kappas:
        cells = []
        for i in inits:
            c = table[(k, i)]
            cells.append(" ".join(f"{c[r]:2d}" for r in range(K + 1)).ljust(22))
        print(f"       {k:<6g}{'*' if k < THR else ' '} " + "  ".join(cells))
    frac = {}
    for i in inits:
        below = [table[(k, i)] for k in kappas if k < THR]
        n = sum(sum(c.values()) for c in below)
        frac[i] = sum(sum(v for r, v in c.items() if r < K) for c in below) / n
    print("       fraction of runs below the threshold that end in a rank-deficient local minimum: "
          + ", ".join(f"init {i:g}: {frac[i]:.2f}" for i in inits))
    check("linear: rank-deficient minima are more frequent from a smaller init (pooled over kappa < 2^(-4/3))",
          frac[inits[0]] > frac[inits[-1]], f"{frac[inits[0]]:.2f} at init {inits[0]:g} vs {frac[inits[-1]]:.2f} at {inits[-1]:g}")
    ks = [k for k in kappas if k < THR]
    fr = lambda k, i: sum(v for r, v in table[(k, i)].items() if r < K) / sum(table[(k, i)].values())  # noqa: E731
    check("linear: ... and more frequent closer to the threshold (largest init: kappa just below 2^(-4/3) vs smallest kappa)",
          fr(ks[-1], inits[-1]) > fr(ks[0], inits[-1]),
          f"{fr(ks[-1], inits[-1]):.2f} at kappa {ks[-1]:g} vs {fr(ks[0], inits[-1]):.2f} at kappa {ks[0]:g}")
    mid = [k for k in kappas if THR <= k <= KAPPA_MAX]
    if mid:
        n = sum(sum(table[(k, i)].values()) for k in mid for i in inits)
        nz = sum(v for k in mid for i in inits for r, v in table[(k, i)].items() if r > 0)
        print(f"       {THR:.4f} <= kappa <= {KAPPA_MAX:.4f}: {nz}/{n} runs end at a nonzero local minimum above the global one (F = 1/2)")


def relu_runs(d):
    out = []
    for f in sorted(glob.glob(f"{d}/relu/kappa*_init*_seed*.json")):
        m = re.search(r"kappa([0-9.]+)_init([0-9.]+)_seed(\d+)\.json$", f)
        kappa, init, seed = float(m.group(1)), float(m.group(2)), int(m.group(3))
        doc = json.load(open(f))
        lin = json.load(open(f"{d}/relu/kappa{m.group(1)}_linear_theory.json"))["prediction"]
        st = f[:-5] + ".state"
        H1, W1, y = np.load(f"{st}/H.npy"), np.load(f"{st}/W1.npy"), np.load(f"{st}/labels.npy")
        S1 = np.maximum(W1 @ H1, 0)
        K = int(y.max()) + 1
        M = np.stack([S1[:, y == c].mean(axis=1) for c in range(K)], axis=1)   # uncentered class means
        nrm = np.linalg.norm(M, axis=0)
        live = nrm > 1e-8 * nrm.max()              # cosines with a zero class mean are undefined
        Ml = M[:, live] / nrm[live]
        cos = Ml.T @ Ml
        fin = doc["final"]
        rank = int(np.sum(np.array(fin["wh_singular_values"]) > RANK_TOL))
        kap = lin["kappa"]
        branch = f_rank(rank, kap, K) if (rank == 0 or s_plus(kap) is not None) else np.nan
        out.append(dict(kappa=kappa, init=init, seed=seed, status=doc["status"], objective=fin["objective"],
                        grad=fin["grad_norm"], lin_min=lin["min_value"],
                        nc1_h1=fin["levels"]["H1"]["nc1"], nc1_s1=fin["levels"]["S1"]["nc1"],
                        max_cos=float(np.max(np.abs(cos - np.eye(int(live.sum()))))) if live.sum() > 1 else np.nan,
                        zero_means=int(K - live.sum()),
                        equinorm=float(np.std(nrm) / np.mean(nrm)),
                        rank=rank, branch=branch,
                        on_branch=bool(abs(fin["objective"] - branch) / branch <= 1e-6), K=K,
                        trajectory=[(p["time"], p["levels"]["H1"]["nc1"], p["levels"]["S1"]["nc1"])
                                    for p in doc["trajectory"]]))
        r = out[-1]
        if r["on_branch"] and r["rank"] == K:
            r["kind"] = "linear global min"
        elif r["on_branch"]:
            r["kind"] = f"linear rank {r['rank']}"
        elif r["grad"] > 1e-7:
            r["kind"] = "not converged"
        else:
            r["kind"] = "other (ReLU-only)"
    return out


def relu(d, check, quick):
    runs = relu_runs(d)
    if not runs:
        check("relu: runs present", False, "no relu/*.json")
        return
    tol_obj = 1e-4 if quick else 1e-6
    tol_cos = 1e-2 if quick else 1e-3
    at_min = [r for r in runs if abs(r["objective"] - r["lin_min"]) / r["lin_min"] <= tol_obj]
    below = [r for r in runs if r["objective"] < r["lin_min"] * (1 - 1e-9)]
    check("relu: no run ends below the linear model's global minimum (theory (c))", not below,
          f"{len(below)} below; lowest objective / linear minimum - 1 = "
          f"{min(r['objective'] / r['lin_min'] - 1 for r in runs):.1e}")
    for kappa in sorted({r["kappa"] for r in runs}):
        sub = [r for r in runs if r["kappa"] == kappa]
        hit = [r for r in at_min if r["kappa"] == kappa]
        check(f"relu kappa={kappa:g}: some runs reach the linear minimum value {sub[0]['lin_min']:.10f} (rel. {tol_obj:g})",
              len(hit) > 0, f"{len(hit)}/{len(sub)} runs")
    nc_ok = [r for r in at_min if max(r["nc1_h1"], r["nc1_s1"]) <= 1e-8 and r["max_cos"] <= tol_cos]
    on = [r for r in runs if r["on_branch"]]
    check("relu: runs on a rank-r branch of the linear model (same value) show NC1 in H1 and S1 (nc1 <= 1e-8)",
          all(max(r["nc1_h1"], r["nc1_s1"]) <= 1e-8 for r in on), f"{len(on)} runs on a branch, max nc1 "
          f"{max(max(r['nc1_h1'], r['nc1_s1']) for r in on) if on else float('nan'):.1e}")
    check(f"relu: every run at that minimum shows NC1 in H1 and S1 (nc1 <= 1e-8) and orthogonal class means "
          f"of S1 = relu(W1 H1) (max |cos| <= {tol_cos:g})", len(nc_ok) == len(at_min) and len(at_min) > 0,
          f"{len(nc_ok)}/{len(at_min)}; max nc1 {max(max(r['nc1_h1'], r['nc1_s1']) for r in at_min):.1e}, "
          f"max |cos| {max(r['max_cos'] for r in at_min):.1e}, max equinorm {max(r['equinorm'] for r in at_min):.1e}")
    print("       relu runs: kappa init seed | status | F / F_lin* - 1 | nc1(H1) nc1(S1) | max|cos| of nonzero S1 means "
          "(zero means) | rank r of W2 S1bar | where: 'linear r' = on the linear model's rank-r branch of (c)")
    kinds = Counter()
    for r in runs:
        nc = max(r["nc1_h1"], r["nc1_s1"]) <= 1e-8
        kind = r["kind"] + (", NC1" if nc else ", no NC1")
        kinds[(r["kappa"], kind)] += 1
        print(f"       {r['kappa']:<5g} {r['init']:<4g} {r['seed']:<3d} | {r['status']:<9} | {r['objective'] / r['lin_min'] - 1:9.2e} | "
              f"{r['nc1_h1']:8.1e} {r['nc1_s1']:8.1e} | {r['max_cos']:8.1e} ({r['zero_means']}) | {r['rank']} | {kind}")
    for kappa in sorted({r["kappa"] for r in runs}):
        n = sum(1 for r in runs if r["kappa"] == kappa)
        print(f"       relu kappa={kappa:g} ({n} runs): " + ", ".join(f"{v} {k}" for (kk, k), v in sorted(kinds.items()) if kk == kappa))
    groups = defaultdict(list)
    for r in runs:
        groups[(r["kappa"], r["init"])].append(r in at_min)
    print("       fraction reaching the linear minimum with NC: "
          + ", ".join(f"kappa {k:g} init {i:g}: {sum(v)}/{len(v)}" for (k, i), v in sorted(groups.items())))


def main():
    d, quick = study.check_cli(__doc__, style="doc")
    check = study.Checks()
    linear(d, check, quick)
    relu(d, check, quick)
    check.finish()


if __name__ == "__main__":
    main()
