#!/usr/bin/python3
"""Figures of the Tirer & Bruna study (matplotlib only).

    /usr/bin/python3 experiments/tirer_bruna/figures.py DIR --out FIGDIR

Writes FIGDIR/linear_ranks.{png,pdf}      rank of the final W2 W1 H1bar over seeds, per kappa and init scale
       FIGDIR/linear_objective.{png,pdf}  final objective of every linear run on theory (c)'s branches
                                          F_r = ((K-r)/2 + r phi(s+))/K, r = 0..K
       FIGDIR/relu_nc.{png,pdf}           ReLU runs: nc1 of H1 and S1 over time; final objective against
                                          the linear minimum and the orthogonality of the S1 class means
"""
import functools
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import KAPPA_MAX, RANK_TOL, THR, f_rank, relu_runs, s_plus  # noqa: E402

plt = study.pyplot()
save = functools.partial(study.save_figure, dpi=150, bbox_inches="tight", announce=True)   # (fig, out, name)


def linear_points(d):
    runs = study.sweep_records(f"{d}/linear.jsonl")
    theory = {t["values"]["lambda"]: t["prediction"] for t in study.sweep_records(f"{d}/linear_theory.jsonl")}
    pts = []
    for p in runs:
        kappa = theory[p["values"]["lambda"]]["kappa"]
        r = int(np.sum(np.array(p["final"]["wh_singular_values"]) > RANK_TOL))
        pts.append((kappa, p["values"]["init_scale"], r, p["final"]["objective"]))
    return pts, runs[0]["config"]["classes"]


def linear_ranks(pts, K, out):
    inits = sorted({p[1] for p in pts})
    kappas = sorted({round(p[0], 6) for p in pts})
    cmap = plt.get_cmap("viridis", K + 1)
    fig, axes = plt.subplots(1, len(inits), figsize=(3.6 * len(inits), 3.6), sharey=True, squeeze=False)
    xpos = np.arange(len(kappas))
    for ax, init in zip(axes[0], inits):
        bottom = np.zeros(len(kappas))
        for r in range(K + 1):
            frac = []
            for k in kappas:
                sub = [p for p in pts if round(p[0], 6) == k and p[1] == init]
                frac.append(sum(p[2] == r for p in sub) / max(1, len(sub)))
            ax.bar(xpos, frac, bottom=bottom, color=cmap(r), label=f"rank {r}", width=0.85)
            bottom += np.array(frac)
        for val, ls, lab in ((THR, "-", r"$2^{-4/3}$"), (KAPPA_MAX, ":", r"$3\cdot 4^{-4/3}$")):
            xv = np.interp(val, kappas, xpos)
            ax.axvline(xv, color="red", ls=ls, lw=1.5, label=lab)
        ax.set_xticks(xpos)
        ax.set_xticklabels([f"{k:g}" for k in kappas], rotation=90, fontsize=7)
        ax.set_xlabel(r"$\kappa = K(n\lambda_{W_2}\lambda_{W_1}\lambda_{H_1})^{1/3}$")
        ax.set_title(f"init scale {init:g}")
    axes[0][0].set_ylabel("fraction of seeds")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(r"2-layer linear UFM: rank of $W_2W_1\bar H_1$ at the end of gradient flow (full rank = global minimum iff $\kappa<2^{-4/3}$)", y=1.04)
    save(fig, out, "linear_ranks")


def linear_objective(pts, K, out):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    cmap = plt.get_cmap("viridis", K + 1)
    ks = np.linspace(0.005, 0.65, 600)
    for r in range(K + 1):
        ys = np.array([f_rank(r, k, K) if (r == 0 or s_plus(k) is not None) else np.nan for k in ks])
        ax.plot(ks, ys, color=cmap(r), lw=1, label=f"theory, rank {r}")
    glob_min = np.array([min(f_rank(K, k, K) if s_plus(k) is not None else 0.5, 0.5) for k in ks])
    ax.plot(ks, glob_min, "k--", lw=1, label="global minimum (theory.md (c))")
    rng = np.random.default_rng(0)
    inits = sorted({p[1] for p in pts})
    markers = dict(zip(inits, "o^sD"))
    for init in inits:
        sub = [p for p in pts if p[1] == init]
        ax.scatter([p[0] * (1 + 0.012 * rng.standard_normal()) for p in sub], [p[3] for p in sub],
                   c=[cmap(p[2]) for p in sub], marker=markers[init], s=14, edgecolors="k", linewidths=0.3,
                   label=f"runs, init {init:g}")
    ax.axvline(THR, color="red", lw=1)
    ax.axvline(KAPPA_MAX, color="red", ls=":", lw=1)
    ax.set_xlabel(r"$\kappa$")
    ax.set_ylabel("final objective F")
    ax.set_title("every converged run sits on a branch $((K-r)/2 + r\\,\\varphi(s_+))/K$")
    ax.legend(fontsize=6, ncol=2)
    save(fig, out, "linear_objective")


def relu_nc(d, out):
    runs = relu_runs(d)
    colors = {"linear global min": "C0", "not converged": "C7", "other (ReLU-only)": "C3"}
    col = lambda r: colors.get(r["kind"], "C2")  # noqa: E731  (C2: a rank-deficient branch of the linear model)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4), gridspec_kw={"wspace": 0.35})
    for r in runs:
        tr = r["trajectory"][1:]
        t = [p[0] for p in tr]
        for k, ls in ((1, "-"), (2, "--")):
            axes[0].plot(t, [max(p[k], 1e-32) if p[k] is not None else np.nan for p in tr], ls, color=col(r),
                         lw=0.7, alpha=0.7)
    for lab, c in (("linear global minimum", "C0"), ("rank-deficient branch of the linear model", "C2"),
                   ("other stationary point (ReLU only)", "C3"), ("not converged at the end", "C7")):
        axes[0].plot([], [], "-", color=c, label=lab)
    axes[0].plot([], [], "k-", label="$H_1$"); axes[0].plot([], [], "k--", label="$S_1$")
    axes[0].set_xscale("log"); axes[0].set_yscale("log")
    axes[0].set_xlabel("time t"); axes[0].set_ylabel("nc1")
    axes[0].set_title("NC1 in $H_1$ (solid) and $S_1=\\sigma(W_1H_1)$ (dashed)", fontsize=10)
    axes[0].legend(fontsize=6)
    for kappa, mk in zip(sorted({r["kappa"] for r in runs}), "os^"):
        sub = [r for r in runs if r["kappa"] == kappa]
        gap = np.array([max(r["objective"] / r["lin_min"] - 1, 1e-16) for r in sub])
        axes[1].scatter(gap, [max(r["nc1_s1"], 1e-32) for r in sub], marker=mk, c=[col(r) for r in sub],
                        edgecolors="k", linewidths=0.3)
        for ax in axes[1:]:
            ax.scatter([], [], marker=mk, c="w", edgecolors="k", label=f"$\\kappa$ = {kappa:g}")
        cosv = np.array([r["max_cos"] for r in sub], dtype=float)
        axes[2].scatter(gap, np.maximum(cosv, 1e-16), marker=mk, c=[col(r) for r in sub],
                        edgecolors="k", linewidths=0.3)
    for ax, lab in ((axes[1], "final nc1 of $S_1$"), (axes[2], "max |cos| between nonzero $S_1$ class means")):
        ax.set_xscale("log"); ax.set_yscale("log")
        ax.set_xlabel(r"$F/F^*_{\mathrm{linear}} - 1$ (floored at $10^{-16}$)")
        ax.set_ylabel(lab)
        ax.legend(fontsize=7)
    axes[1].set_title("final NC1 of $S_1$ vs distance to the linear minimum", fontsize=10)
    axes[2].set_title("orthogonality of the (uncentered) $S_1$ class means", fontsize=10)
    fig.suptitle("ReLU extended UFM (K = 4, n = 10, d = 8), gradient flow (RK4), one point/curve per seed", y=1.02)
    save(fig, out, "relu_nc")


def main():
    d, out = study.figures_cli(__doc__, style="doc")
    pts, K = linear_points(d)
    linear_ranks(pts, K, out)
    linear_objective(pts, K, out)
    relu_nc(d, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
