#!/usr/bin/python3
"""Figures of the unregularized-CE study (Ji et al.; theory.md §5 (e)).

usage: figures.py DIR [--out FIGDIR]      (FIGDIR defaults to DIR/figures)

Writes unregularized_ce.{png,pdf}: against t on a log axis (that is, against log t), one colour per K,
one line per seed: (a) the normalized margin divided by its maximum K/(2(K-1) sqrt(KN)),
(b) the distance to the self-dual simplex ETF (self_dual_etf_distance), (c) nc3 on log-log axes
with the reference c/log t. And unregularized_ce_norms.{png,pdf}: ||W||, ||H|| against t
(they grow like sqrt(log t)).
"""
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

plt = study.pyplot()


def main():
    directory, figdir = study.figures_cli(__doc__)
    points = study.load_points(directory)
    Ks = sorted({p["config"]["classes"] for p in points})
    colors = {K: plt.get_cmap("tab10")(i) for i, K in enumerate(Ks)}
    written = []

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    labelled = set()
    for p in points:
        c = p["config"]
        K, N = c["classes"], c["classes"] * c["per_class"]
        mmax = K / (2 * (K - 1) * math.sqrt(K * N))
        tr = [x for x in p["trajectory"] if x["time"] > 0]
        t = np.array([x["time"] for x in tr])
        lab = None if K in labelled else "K = %d (N = %d)" % (K, N)
        labelled.add(K)
        axes[0].plot(t, np.array([x["normalized_min_margin"] for x in tr]) / mmax, color=colors[K], lw=1, label=lab)
        axes[1].plot(t, [x["self_dual_etf_distance"] for x in tr], color=colors[K], lw=1, label=lab)
        axes[2].plot(t, [x["nc3"] for x in tr], color=colors[K], lw=1, label=lab)
    T = max(x["time"] for x in points[0]["trajectory"])
    axes[0].axhline(1, color="grey", ls="--", lw=0.8)
    axes[0].set_ylim(-0.4, 1.05)
    axes[0].set_ylabel("normalized min margin / max margin")
    axes[0].set_title("(a) margin / (‖W‖² + ‖H‖²), over its maximum K/(2(K−1)√(KN))", fontsize=9)
    axes[1].set_yscale("log")
    axes[1].set_ylabel("self_dual_etf_distance")
    axes[1].set_title("(b) distance to the self-dual simplex ETF", fontsize=9)
    ts = np.logspace(4, math.log10(T), 20)
    ref = [x["nc3"] for x in points[0]["trajectory"] if x["time"] >= 1e4]
    c0 = ref[0] * math.log(1e4) if ref else 1.0
    axes[2].plot(ts, c0 / np.log(ts), color="k", ls=":", lw=1.5, label="∝ 1/log t")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("nc3")
    axes[2].set_title("(c) nc3 (theory.md: ≈ 1/log t)", fontsize=9)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("gradient-flow time t (log scale)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    c = points[0]["config"]
    fig.suptitle("Unregularized CE UFM (λ = 0, bias-free), gradient flow to t = %g, n = %d, d = %d, %d seeds per K"
                 % (T, c["per_class"], c["dim"], len({p["config"]["seed"] for p in points})), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    written += study.save_figure(fig, figdir, "unregularized_ce")

    fig, ax = plt.subplots(figsize=(7, 4.6))
    labelled = set()
    for p in points:
        K = p["config"]["classes"]
        tr = [x for x in p["trajectory"] if x["time"] > 0]
        t = [x["time"] for x in tr]
        lab = None if K in labelled else "K = %d" % K
        labelled.add(K)
        ax.plot(t, [x["w_norm"] for x in tr], color=colors[K], lw=1, label=lab)
        ax.plot(t, [x["h_norm"] for x in tr], color=colors[K], lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("gradient-flow time t (log scale)")
    ax.set_ylabel("‖W‖ (solid), ‖H‖ (dashed)")
    ax.set_title("The norms diverge, slowly (like √log t)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    written += study.save_figure(fig, figdir, "unregularized_ce_norms")
    for w in written:
        print(w)


if __name__ == "__main__":
    main()
