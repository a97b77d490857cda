#!/usr/bin/python3
"""Figures of the minority-collapse study (matplotlib only).

    /usr/bin/python3 experiments/minority_collapse/figures.py DIR --out FIGDIR

Writes FIGDIR/minority_cosine.{png,pdf}  mean pairwise cosine of the minority rows of W against R, per lambda,
                                         and 1 - cos on a log scale (exact collapse past R*)
       FIGDIR/r_star.{png,pdf}           the bracket of R* against lambda, log-log
       FIGDIR/norms.{png,pdf}            mean row norms of W, minority and majority classes, against R
"""
import functools
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import COLLAPSE, curves, load, threshold  # noqa: E402

plt = study.pyplot()
save = functools.partial(study.save_figure, dpi=150, bbox_inches="tight", announce=True)   # (fig, out, name)


def main():
    d, out = study.figures_cli(__doc__, style="doc")
    grid = load(f"{d}/grid.jsonl")
    cur = curves(grid)
    ref = curves(load(f"{d}/refine.jsonl"))
    c0 = grid[0]["config"]
    setup = f"CE UFM, K = {c0['classes']} ({c0['majority_classes']} majority classes of {c0['per_class']}), d = {c0['dim']}"

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for i, lam in enumerate(sorted(cur)):
        col = f"C{i}"
        R = np.array([x[0] for x in cur[lam]])
        cs = np.array([x[1] for x in cur[lam]])
        axes[0].plot(R, cs, "o-", color=col, ms=4, label=f"$\\lambda$ = {lam:g}")
        axes[1].plot(R, np.maximum(1 - cs, 1e-16), "o-", color=col, ms=4, label=f"$\\lambda$ = {lam:g}")
        if lam in ref:
            Rr = np.array([x[0] for x in ref[lam]])
            cr = np.array([x[1] for x in ref[lam]])
            axes[0].plot(Rr, cr, "x", color=col, ms=6)
            axes[1].plot(Rr, np.maximum(1 - cr, 1e-16), "x", color=col, ms=6)
        t = threshold(sorted(cur[lam] + ref.get(lam, []), key=lambda x: x[0]))
        if t and t[0]:
            axes[0].axvspan(t[0], t[2], color=col, alpha=0.15)
    axes[0].axhline(COLLAPSE, color="gray", ls=":", lw=1)
    axes[0].plot([], [], "kx", label="refinement (explicit class counts)")
    axes[0].set_ylabel("minority_cosine_mean")
    axes[0].set_title("mean pairwise cosine of the minority rows of W (shaded: R* bracket)", fontsize=10)
    axes[1].set_yscale("log")
    axes[1].set_ylabel("1 - minority_cosine_mean (floored at 1e-16)")
    axes[1].set_title("past R*: 1 - cos drops to the convergence floor (the rows coincide)", fontsize=10)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel(r"imbalance ratio $R = n_{\mathrm{maj}}/n_{\mathrm{min}}$")
        ax.legend(fontsize=8)
    fig.suptitle(setup + ", gradient flow to $\\Vert\\nabla F\\Vert \\leq 10^{-9}$", y=1.02)
    save(fig, out, "minority_cosine")

    fig, ax = plt.subplots(figsize=(5, 4))
    lams, lo, hi = [], [], []
    for lam in sorted(cur):
        t = threshold(sorted(cur[lam] + ref.get(lam, []), key=lambda x: x[0]))
        if t and t[0]:
            lams.append(lam); lo.append(t[0]); hi.append(t[2])
    lams, lo, hi = map(np.array, (lams, lo, hi))
    mid = np.sqrt(lo * hi)
    ax.errorbar(lams, mid, yerr=[mid - lo, hi - mid], fmt="o", capsize=4, label="R* bracket")
    if len(lams) >= 2:
        k, b = np.polyfit(np.log(lams), np.log(mid), 1)
        xx = np.logspace(math.log10(lams.min()) - 0.1, math.log10(lams.max()) + 0.1, 50)
        ax.plot(xx, np.exp(b) * xx ** k, "k--", lw=1, label=f"fit: $R^* \\propto \\lambda^{{{k:.2f}}}$")
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel(r"$\lambda = \lambda_W = \lambda_H$"); ax.set_ylabel("R*")
    ax.set_title("threshold of minority collapse", fontsize=10)
    ax.legend(fontsize=8)
    save(fig, out, "r_star")

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, lam in enumerate(sorted(cur)):
        R = np.array([x[0] for x in cur[lam]])
        ax.plot(R, [x[2]["final"]["majority_w_norm_mean"] for x in cur[lam]], "s-", color=f"C{i}", ms=3,
                label=f"majority, $\\lambda$ = {lam:g}")
        ax.plot(R, [x[2]["final"]["minority_w_norm_mean"] for x in cur[lam]], "o--", color=f"C{i}", ms=3,
                label=f"minority, $\\lambda$ = {lam:g}")
    ax.set_xscale("log")
    ax.set_xlabel(r"$R$"); ax.set_ylabel("mean norm of the rows of W")
    ax.set_title("classifier row norms", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    save(fig, out, "norms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
