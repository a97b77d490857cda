#!/usr/bin/python3
"""Figures of the Wojtowytsch-E toy study (theory.md §5 (g)).

usage: figures.py DIR [--out FIGDIR]      (FIGDIR defaults to DIR/figures)

Writes
  toy_gap.{png,pdf}: h(1) - h(-1) = a3 - a2 - a1 against t for every p (a(0) = 0), dashed: its limit
      log(p3/(2 p1));
  toy_limit.{png,pdf}: h(1) - h(-1) at the end of every run against log(p3/(2 p1)), with the diagonal;
  toy_rate.{png,pdf}: |error| against t (log-log, every run, reference 1/t) and t * error against t.
"""
import math
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

plt = study.pyplot()


def ptag(p):
    return "p = (%g, %g, %g)" % tuple(p["doc"]["config"]["p"])


def atag(p):
    return "a(0) = (%g, %g, %g)" % tuple(p["doc"]["config"]["a0"])


def main():
    directory, figdir = study.figures_cli(__doc__)
    points = study.load_points(directory)
    ps = []
    for p in points:
        if tuple(p["doc"]["config"]["p"]) not in ps:
            ps.append(tuple(p["doc"]["config"]["p"]))
    a0s = []
    for p in points:
        if tuple(p["doc"]["config"]["a0"]) not in a0s:
            a0s.append(tuple(p["doc"]["config"]["a0"]))
    colors = {pv: plt.get_cmap("tab10")(i) for i, pv in enumerate(ps)}
    markers = {a: m for a, m in zip(a0s, "os^Dv<>")}
    styles = {a: s for a, s in zip(a0s, ["-", "--", ":", "-."])}
    written = []

    # 1. the gap over time, a(0) = the first initial condition
    fig, ax = plt.subplots(figsize=(8, 5))
    for p in points:
        if tuple(p["doc"]["config"]["a0"]) != a0s[0]:
            continue
        tr = [c for c in p["doc"]["trajectory"] if c["t"] > 0]
        col = colors[tuple(p["doc"]["config"]["p"])]
        ax.plot([c["t"] for c in tr], [c["gap"] for c in tr], color=col,
                label="%s, limit %.3f" % (ptag(p), p["doc"]["limit"]))
        ax.axhline(p["doc"]["limit"], color=col, ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("gradient-flow time t")
    ax.set_ylabel("h(1) − h(−1) = a₃ − a₂ − a₁")
    ax.set_title("Wojtowytsch–E toy, %s: the gap tends to log(p₃/(2p₁)) (dashed), 0 only if p₃ = 2p₁"
                 % ("a(0) = (%g, %g, %g)" % a0s[0]), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    written += study.save_figure(fig, figdir, "toy_gap")

    # 2. the final gap against the predicted limit
    fig, ax = plt.subplots(figsize=(5.5, 5))
    lims = [p["doc"]["limit"] for p in points]
    lo, hi = min(lims) - 0.3, max(lims) + 0.3
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, label="h(1) − h(−1) = log(p₃/(2p₁))")
    for p in points:
        pv, a = tuple(p["doc"]["config"]["p"]), tuple(p["doc"]["config"]["a0"])
        ax.scatter(math.log(pv[2] / (2 * pv[0])), p["doc"]["trajectory"][-1]["gap"], color=colors[pv],
                   marker=markers[a], s=40, facecolors="none" if a != a0s[0] else colors[pv])
    for pv in ps:
        ax.scatter([], [], color=colors[pv], marker="o", label="p = (%g, %g, %g)" % pv)
    for a in a0s:
        ax.scatter([], [], color="k", marker=markers[a], facecolors="none", label="a(0) = (%g, %g, %g)" % a)
    T = points[0]["doc"]["trajectory"][-1]["t"]
    ax.set_xlabel("log(p₃ / (2 p₁))")
    ax.set_ylabel("h(1) − h(−1) at t = %g" % T)
    ax.set_title("Limit of the gap: simulated vs predicted", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    written += study.save_figure(fig, figdir, "toy_limit")

    # 3. the 1/t rate
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for p in points:
        pv, a = tuple(p["doc"]["config"]["p"]), tuple(p["doc"]["config"]["a0"])
        tr = [c for c in p["doc"]["trajectory"] if c["t"] > 0]
        t = np.array([c["t"] for c in tr])
        e = np.array([c["error"] for c in tr])
        lab = "%s" % ptag(p) if a == a0s[0] else None
        axes[0].plot(t, np.abs(e), color=colors[pv], ls=styles[a], lw=1, label=lab)
        axes[1].plot(t, t * e, color=colors[pv], ls=styles[a], lw=1, label=lab)
    T = max(c["t"] for c in points[0]["doc"]["trajectory"])
    ts = np.logspace(0, math.log10(T), 20)
    axes[0].plot(ts, 10 / ts, color="k", lw=1.5, ls=(0, (1, 1)), label="10/t")
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("|h(1) − h(−1) − log(p₃/(2p₁))|")
    axes[1].set_xscale("log")
    axes[1].set_ylabel("t · error")
    axes[1].set_xlim(1, T)
    for ax in axes:
        ax.set_xlabel("gradient-flow time t")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left")
    for a in a0s:
        axes[1].plot([], [], color="k", ls=styles[a], label="a(0) = (%g, %g, %g)" % a)
    axes[1].legend(fontsize=7, loc="upper right", ncol=2)
    fig.suptitle("The error decays like 1/t: t · error tends to a constant (which depends on p and a(0))", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    written += study.save_figure(fig, figdir, "toy_rate")
    for w in written:
        print(w)


if __name__ == "__main__":
    main()
