#!/usr/bin/python3
"""Figures of `ufm-sim compare`: the SQI study's network against its matched UFM (theory.md §5 (a)).

usage: figures.py DIR [--out FIGDIR]      (FIGDIR defaults to DIR/figures)

Writes (PNG and PDF)
  ufm_vs_network_table: the final table as grouped horizontal bars on a log axis (network, UFM from a
      random init, UFM from the network's features; theory's value as a black tick where it has one;
      values below 1e-30, exact zeros included, drawn at 1e-30; no bar where a side has no value,
      as the network's objective, which is not the UFM's F);
  ufm_vs_network_trajectories: both UFM runs over gradient-flow time t: relative distance of the
      objective to F*, ||H|| and ||W|| against theory's, and nc1 against the network's final nc1.
"""
import json
import os
import sys

import matplotlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import study  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FLOOR = 1e-30
SIDES = (("network", "network (end of training)", "tab:red"),
         ("ufm", "UFM, random init", "tab:blue"),
         ("ufm_from_network", "UFM from the network's features", "tab:green"))


def table_fig(doc, figdir):
    rows = [r for r in doc["table"] if any(r[k] is not None for k, _, _ in SIDES)]
    rows = rows[::-1]
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.5))
    y = np.arange(len(rows))
    h = 0.26
    for j, (key, label, col) in enumerate(SIDES):
        vals = [r[key] for r in rows]
        have = [v is not None for v in vals]       # no bar where the side has no value (the network's objective)
        x = [FLOOR if abs(v) < FLOOR else abs(v) for v in vals if v is not None]
        ax.barh((y + (1 - j) * h)[have], x, height=h, color=col, label=label, alpha=0.85)
        for yi, v in zip(y + (1 - j) * h, vals):
            if v is not None:
                ax.text(max(abs(v), FLOOR) * 1.5, yi, "%.3g" % v, va="center", fontsize=6)
    for yi, r in zip(y, rows):
        if r["theory"] is not None:
            ax.plot([max(abs(r["theory"]), FLOOR)] * 2, [yi - 1.5 * h, yi + 1.5 * h], color="k", lw=1.5)
    ax.plot([], [], color="k", lw=1.5, label="theory.md §5 (a)")
    ax.set_yticks(y)
    ax.set_yticklabels([r["metric"] for r in rows], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(FLOOR / 3, 1e6)
    ax.set_xlabel("|value| (log; below 1e-30 drawn at 1e-30)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    m = doc["network"]["model"]
    u = doc["ufm"]["config"]
    ax.set_title("ufm-sim compare: %s network %s, %s epochs; UFM K = %d, n = %d, d = %d, λ = %g, flow to t = %g"
                 % (m["data"].split(" ")[0], "-".join(str(v) for v in m["dims"]), doc["network"]["summary"]["epochs"],
                    u["classes"], u["per_class"], u["dim"], u["lambda_w"], u["time"]), fontsize=9)
    fig.tight_layout()
    return study.save_figure(fig, figdir, "ufm_vs_network_table")


def trajectories_fig(doc, figdir):
    pred = (doc.get("theory") or {}).get("prediction") or {}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for key, label, col in SIDES[1:]:
        tr = [c for c in doc[key]["trajectory"] if c["time"] > 0]
        t = np.array([c["time"] for c in tr])
        if "min_value" in pred:
            axes[0].plot(t, [max(abs(c["objective"] - pred["min_value"]) / pred["min_value"], 1e-17) for c in tr],
                         color=col, label=label)
        axes[1].plot(t, [c["h_norm"] for c in tr], color=col, label="‖H‖, " + label)
        axes[1].plot(t, [c["w_norm"] for c in tr], color=col, ls="--", label="‖W‖, " + label)
        axes[2].plot(t, [max(c["nc1"], 1e-32) for c in tr], color=col, label=label)
    if "h_norm" in pred:
        axes[1].axhline(pred["h_norm"], color="k", lw=0.8, ls=":", label="theory ‖H‖ = ‖W‖ = %.4g" % pred["h_norm"])
    axes[2].axhline(doc["network"]["final"]["nc1"], color="tab:red", lw=1, ls=":",
                    label="network's final nc1 = %.3g" % doc["network"]["final"]["nc1"])
    axes[0].axhline(1e-6, color="grey", lw=0.8, ls="--", label="1e-6 (the check)")
    axes[0].set_ylabel("|F − F*| / F*")
    axes[1].set_ylabel("norm")
    axes[2].set_ylabel("nc1")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("gradient-flow time t")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    fig.suptitle("The matched UFM, from a random init and from the network's penultimate features and classifier",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return study.save_figure(fig, figdir, "ufm_vs_network_trajectories")


def main():
    directory, figdir = study.figures_cli(__doc__)
    with open(os.path.join(directory, "compare.json")) as f:
        doc = json.load(f)
    for w in table_fig(doc, figdir) + trajectories_fig(doc, figdir):
        print(w)


if __name__ == "__main__":
    main()
