#!/usr/bin/python3
"""Figures of the Papyan-trends study: every NC metric over gradient-flow time.

usage: figures.py DIR [--out FIGDIR]      (FIGDIR defaults to DIR/figures)

Writes papyan_trends_wd.{png,pdf} (lambda = 5e-4) and papyan_trends_nowd.{png,pdf} (lambda = 0):
3x3 panels (nc1, NC2 of the class means and of the classifier, nc3, nc4) against t on log axes,
one colour per loss x bias, the geometric mean over seeds as a line and the seeds' range shaded.
Dashed grey lines: theory.md §5 (a)'s limits for bias-free MSE (orthogonal frame).
"""
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

plt = study.pyplot()

PANELS = [("nc1", "NC1: nc1"), ("equinorm_h", "NC2: equinorm_h"), ("equinorm_w", "NC2: equinorm_w"),
          ("equiangle_h", "NC2: equiangle_h"), ("equiangle_w", "NC2: equiangle_w"), ("etf_error_h", "NC2: etf_error_h"),
          ("etf_error_w", "NC2: etf_error_w"), ("nc3", "NC3: nc3"), ("nc4", "NC4: nc4")]
STYLE = {("ce", "none"): ("tab:blue", "-"), ("ce", "free"): ("tab:cyan", "--"),
         ("mse", "none"): ("tab:red", "-"), ("mse", "free"): ("tab:orange", "--")}


def series(pts, metric):
    """Times > 0 and the per-seed values (rows), on the common checkpoint times."""
    t = np.array([c["time"] for c in pts[0]["trajectory"]])
    rows = []
    for p in pts:
        tr = p["trajectory"]
        if len(tr) != len(t):
            continue
        rows.append([np.nan if c[metric] is None else c[metric] for c in tr])
    v = np.array(rows, float)
    keep = t > 0
    return t[keep], v[:, keep]


def figure(points, lam, title, figdir, name):
    pts_l = [p for p in points if p["config"]["lambda"] == lam]
    if not pts_l:
        return []
    K = pts_l[0]["config"]["classes"]
    r = math.sqrt((K - 1) / K)
    frame = {"equiangle_w": 1 / (K - 1), "etf_error_w": math.sqrt(2 - 2 * r), "nc3": 2 - 2 * r}
    fig, axes = plt.subplots(3, 3, figsize=(13, 10.5))
    for ax, (metric, label) in zip(axes.flat, PANELS):
        for (loss, bias), (color, ls) in STYLE.items():
            grp = [p for p in pts_l if p["config"]["loss"] == loss and p["config"]["bias"] == bias]
            if not grp:
                continue
            t, v = series(grp, metric)
            if metric == "nc4":
                mid = np.nanmean(v, axis=0)
                lo, hi = np.nanmin(v, axis=0), np.nanmax(v, axis=0)
            else:
                v = np.maximum(v, 1e-300)
                mid = np.exp(np.nanmean(np.log(v), axis=0))
                lo, hi = np.nanmin(v, axis=0), np.nanmax(v, axis=0)
            ax.plot(t, mid, color=color, ls=ls, lw=1.6, label="%s, bias %s" % (loss.upper(), bias))
            ax.fill_between(t, lo, hi, color=color, alpha=0.15, lw=0)
        if metric in frame:
            ax.axhline(frame[metric], color="grey", ls=":", lw=1.2,
                       label="bias-free MSE limit (§5 (a))" if metric == "nc3" else None)
        ax.set_xscale("log")
        if metric != "nc4":
            ax.set_yscale("log")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("gradient-flow time t")
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=5, frameon=False)
    c = pts_l[0]["config"]
    fig.suptitle("%s — UFM K=%d, n=%d, d=%d, gradient flow, %d seeds (line: geometric mean, band: range)"
                 % (title, c["classes"], c["per_class"], c["dim"], len({p["config"]["seed"] for p in pts_l})),
                 fontsize=11)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return study.save_figure(fig, figdir, name)


def main():
    directory, figdir = study.figures_cli(__doc__)
    points = study.load_points(directory, sort=False)
    written = []
    lams = sorted({p["config"]["lambda"] for p in points}, reverse=True)
    for lam in lams:
        if lam > 0:
            written += figure(points, lam, "Weight decay λ = %g" % lam, figdir, "papyan_trends_wd")
        else:
            written += figure(points, lam, "No weight decay (λ = 0)", figdir, "papyan_trends_nowd")
    for w in written:
        print(w)


if __name__ == "__main__":
    main()
