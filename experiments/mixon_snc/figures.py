#!/usr/bin/python3
"""Figures of the strong-neural-collapse study (Mixon et al.; theory.md §4).

usage: figures.py DIR [--out FIGDIR]      (FIGDIR defaults to DIR/figures)

Writes
  mixon_snc_vs_sigma.{png,pdf}: snc_w and snc_h at the end of the flow against the init scale sigma
      (log-log), one colour per d, every seed as a dot, the least-squares line over sigma <= 0.1
      with its slope in the legend, and reference slopes sigma^2 and sigma;
  mixon_snc_trajectories.{png,pdf}: snc_w(t) and snc_h(t) of seed 0 at the largest d, one line per sigma.
"""
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

plt = study.pyplot()

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


def vs_sigma(points, figdir):
    K = points[0]["config"]["classes"]
    n = points[0]["config"]["per_class"]
    dims = sorted({p["config"]["dim"] for p in points})
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, metric in zip(axes, ("snc_w", "snc_h")):
        for i, d in enumerate(dims):
            color = COLORS[i % len(COLORS)]
            pts = [p for p in points if p["config"]["dim"] == d]
            s = np.array([p["config"]["init_scale"] for p in pts])
            v = np.array([p["final"][metric] for p in pts])
            ax.scatter(s, v, s=14, color=color, alpha=0.6)
            fit = s <= 0.1 + 1e-12
            k, b = np.polyfit(np.log10(s[fit]), np.log10(v[fit]), 1)
            xs = np.logspace(np.log10(s[fit].min()), np.log10(s[fit].max()), 50)
            ax.plot(xs, 10 ** b * xs ** k, color=color, lw=1.3,
                    label="d = %d%s: slope %.3f" % (d, " (= K)" if d == K else " (> K)", k))
        xs = np.logspace(np.log10(min(p["config"]["init_scale"] for p in points)), 0, 10)
        ax.plot(xs, xs ** 2, color="grey", ls=":", label="σ²")
        ax.plot(xs, xs, color="grey", ls="--", label="σ")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("init scale σ")
        ax.set_ylabel(metric + " at the end of the flow")
        ax.set_title({"snc_w": "snc_w = ‖D^-1/2 W Wᵀ D^-1/2 − I‖/√K",
                      "snc_h": "snc_h = ‖H − Wᵀ D⁻¹ Y‖ / ‖H‖"}[metric], fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    c = points[0]["config"]
    fig.suptitle("Strong NC: unregularized bias-free MSE UFM, gradient flow to t = %g, K = %d, n = %d, %d seeds "
                 "(lines fitted over σ ≤ 0.1)" % (c["time"], K, n, len({p["config"]["seed"] for p in points})),
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return study.save_figure(fig, figdir, "mixon_snc_vs_sigma")


def trajectories(points, figdir):
    d = max(p["config"]["dim"] for p in points)
    pts = sorted([p for p in points if p["config"]["dim"] == d and p["config"]["seed"] == 0],
                 key=lambda p: p["config"]["init_scale"])
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, metric in zip(axes, ("snc_w", "snc_h")):
        for i, p in enumerate(pts):
            tr = [c for c in p["trajectory"] if c["time"] > 0 and c[metric] is not None]
            ax.plot([c["time"] for c in tr], [c[metric] for c in tr], color=cmap(i / max(1, len(pts) - 1)),
                    label="σ = %.3g" % p["config"]["init_scale"])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("gradient-flow time t")
        ax.set_ylabel(metric)
        ax.grid(True, which="major", alpha=0.3)
    axes[1].legend(fontsize=8, ncol=2)
    fig.suptitle("snc_w(t), snc_h(t): d = %d, K = %d, seed 0 — smaller σ: later escape from 0, closer to strong NC"
                 % (d, pts[0]["config"]["classes"]), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return study.save_figure(fig, figdir, "mixon_snc_trajectories")


def main():
    directory, figdir = study.figures_cli(__doc__)
    points = study.load_points(directory, sort=False)
    for w in vs_sigma(points, figdir) + trajectories(points, figdir):
        print(w)


if __name__ == "__main__":
    main()
