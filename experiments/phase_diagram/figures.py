#!/usr/bin/python3
"""Figures of the phase-diagram study (matplotlib only).

    /usr/bin/python3 experiments/phase_diagram/figures.py DIR --out FIGDIR

Writes FIGDIR/phase_diagram.{png,pdf}   final ||H||_F over (lambda_W lambda_H, K), one panel per model and n,
                                        with theory's boundary lambda_W lambda_H = 1/(K^2 n)
       FIGDIR/order_parameter.{png,pdf} s (MSE) and (e^p - 1)/K (CE) against c = K sqrt(n lambda_W lambda_H):
                                        every grid point on theory's curve
       FIGDIR/near_threshold.{png,pdf}  time to ||grad F|| <= 1e-9 against |1 - c|
"""
import functools
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

plt = study.pyplot()
save = functools.partial(study.save_figure, dpi=150, bbox_inches="tight", announce=True)   # (fig, out, name)

MODELS = [("mse", "none", "(a) MSE, bias-free"), ("mse", "free", "(b) MSE, free bias"),
          ("ce", "none", "(d) CE, bias-free")]


def joined(d, name):
    runs = study.sweep_records(f"{d}/{name}.jsonl")
    theory = study.sweep_records(f"{d}/{name}_theory.jsonl")
    key = lambda v: tuple(sorted((k, x) for k, x in v.items() if k != "seed"))  # noqa: E731
    pred = {key(t["values"]): t["prediction"] for t in theory}
    for p in runs:
        p["theory"] = pred[key(p["values"])]
    return runs


def cval(p):
    th = p["theory"]["thresholds"]
    return th["c"] if "c" in th else th["K_gamma"]


def phase_diagram(grid, out):
    pts = [p for p in grid if p["values"]["seed"] == 0]
    ns = sorted({p["config"]["per_class"] for p in pts})
    Ks = sorted({p["config"]["classes"] for p in pts})
    prods = sorted({p["config"]["lambda_w"] * p["config"]["lambda_h"] for p in pts})
    x = np.log10(prods)
    step = x[1] - x[0]
    fig, axes = plt.subplots(len(MODELS), len(ns), figsize=(3.6 * len(ns), 2.7 * len(MODELS)),
                             sharex=True, sharey=True, squeeze=False)
    for i, (loss, bias, label) in enumerate(MODELS):
        for j, n in enumerate(ns):
            ax = axes[i][j]
            img = np.full((len(Ks), len(x)), np.nan)
            for p in pts:
                c = p["config"]
                if (c["loss"], c["bias"], c["per_class"]) != (loss, bias, n):
                    continue
                a = Ks.index(c["classes"])
                b = int(round((math.log10(c["lambda_w"] * c["lambda_h"]) - x[0]) / step))
                img[a, b] = math.log10(max(p["final"]["h_norm"], 1e-9))
            im = ax.imshow(img, origin="lower", aspect="auto", cmap="viridis", vmin=-8, vmax=1.5,
                           extent=[x[0] - step / 2, x[-1] + step / 2, -0.5, len(Ks) - 0.5])
            # theory's boundary: lambda_W lambda_H = 1 / (K^2 n)
            kk = np.arange(len(Ks))
            for a, K in enumerate(Ks):
                xt = math.log10(1 / (K * K * n))
                ax.plot([xt, xt], [a - 0.45, a + 0.45], "w-", lw=2.5,
                        label="theory: $K\\sqrt{n\\lambda_W\\lambda_H}=1$" if a == 0 else None)
            # measured boundary: first point of each row from which ||H|| ~ 0
            for a, K in enumerate(Ks):
                z = np.where(img[a] < -3)[0]
                if len(z):
                    ax.plot(x[z[0]] - step / 2, a, "rv", ms=7,
                            label="measured boundary" if a == 0 else None)
            ax.set_yticks(kk)
            ax.set_yticklabels([str(K) for K in Ks])
            if i == 0:
                ax.set_title(f"n = {n}")
            if j == 0:
                ax.set_ylabel(f"{label}\nK")
            if i == len(MODELS) - 1:
                ax.set_xlabel(r"$\log_{10}(\lambda_W\lambda_H)$")
    axes[0][0].legend(loc="lower left", fontsize=7, framealpha=0.8)
    cb = fig.colorbar(im, ax=axes, shrink=0.6)
    cb.set_label(r"$\log_{10}\Vert H\Vert_F$ at the end (zero solution: $\leq -6$)")
    fig.suptitle("Regularized UFM: ETF (bright) vs zero solution (dark), gradient flow to $\\Vert\\nabla F\\Vert \\leq 10^{-9}$")
    save(fig, out, "phase_diagram")


def order_parameter(grid, asym, out):
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9), gridspec_kw={"wspace": 0.3})
    xs = np.logspace(-2.5, 2.1, 400)
    for ax, (loss, bias, label) in zip(axes, MODELS):
        for pts, mk, lab in ((grid, "o", "$\\lambda_W=\\lambda_H$"), (asym, "x", "$\\lambda_W=100\\lambda_H$")):
            sub = [p for p in pts if (p["config"]["loss"], p["config"]["bias"]) == (loss, bias)]
            c = np.array([cval(p) for p in sub])
            top = np.array([p["final"]["wh_singular_values"][0] for p in sub])
            K = np.array([p["config"]["classes"] for p in sub])
            y = (np.exp(top) - 1) / K if loss == "ce" else top
            sc = ax.scatter(c, y, c=np.log2(K), cmap="plasma", marker=mk, s=18 if mk == "o" else 30,
                            vmin=1, vmax=4, label=lab, linewidths=1)
        th = np.maximum(0, 1 / xs - 1) if loss == "ce" else np.maximum(0, 1 - xs)
        ax.plot(xs, th, "k-", lw=1, label="theory")
        ax.axvline(1, color="gray", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_title(label)
        if loss == "ce":
            ax.set_yscale("symlog", linthresh=0.1)
            ax.set_ylim(0, None)
            ax.set_xlabel(r"$K\gamma = K\sqrt{n\lambda_W\lambda_H}$")
            ax.set_ylabel(r"$(e^{p}-1)/K$ ($p$: top s.v. of $W\bar H$)")
        else:
            ax.set_xlabel(r"$c = K\sqrt{n\lambda_W\lambda_H}$")
            ax.set_ylabel(r"$s$ (top singular value of $W\bar H$)")
        ax.legend(fontsize=7)
    cb = fig.colorbar(sc, ax=axes, shrink=0.8)
    cb.set_label(r"$\log_2 K$")
    save(fig, out, "order_parameter")


def near_threshold(near, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for (loss, bias, label), mk, col in zip(MODELS, "os^", ("C0", "C1", "C2")):
        sub = [p for p in near if (p["config"]["loss"], p["config"]["bias"]) == (loss, bias)]
        c = np.array([cval(p) for p in sub])
        t = np.array([p["final"]["time"] for p in sub])
        h = np.array([p["final"]["h_norm"] for p in sub])
        ok = np.abs(c - 1) > 1e-9
        for side, fill in ((c < 1, "full"), (c > 1, "none")):
            m = ok & side
            axes[0].plot(np.abs(1 - c[m]), t[m], mk, fillstyle=fill, color=col,
                         label=f"{label}, {'c<1' if fill == 'full' else 'c>1'}")
        axes[1].plot(c, np.maximum(h, 1e-9), mk + "-", label=label, ms=4, color=col)
        crit = ~ok
        if crit.any():
            axes[0].axhline(t[crit][0], color="gray", ls=":", lw=1)
    xx = np.logspace(-3, -0.3, 10)
    axes[0].plot(xx, 150 / xx, "k--", lw=1, label=r"$\propto 1/|1-c|$")
    axes[0].set_xscale("log"); axes[0].set_yscale("log")
    axes[0].set_xlabel(r"$|1-c|$"); axes[0].set_ylabel(r"time $t$ to $\Vert\nabla F\Vert\leq 10^{-9}$")
    axes[0].set_title("critical slowing down (dotted: cap hit at c = 1)")
    axes[0].legend(fontsize=6)
    axes[1].set_yscale("log"); axes[1].set_xlabel("c"); axes[1].set_ylabel(r"final $\Vert H\Vert_F$")
    axes[1].axvline(1, color="gray", ls=":", lw=1)
    axes[1].set_title(f"K = {near[0]['config']['classes']}, n = {near[0]['config']['per_class']}: final $\\Vert H\\Vert_F$ across c = 1")
    axes[1].legend(fontsize=7)
    save(fig, out, "near_threshold")


def main():
    d, out = study.figures_cli(__doc__, style="doc")
    grid = joined(d, "grid")
    phase_diagram(grid, out)
    order_parameter(grid, joined(d, "asymmetric"), out)
    near_threshold(joined(d, "near_threshold"), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
