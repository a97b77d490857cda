#!/usr/bin/python3
"""Figures of the SQI study (a bias-free ReLU network on Fashion-MNIST against the UFM; theory.md §4, §5 (a)/(b)).

usage: figures.py DIR [--out FIGDIR]      (FIGDIR defaults to DIR/figures)

Writes (PNG and PDF)
  sqi_network_sqi: over epochs, eps_avg against (K-1) eps_tilde_avg and the average-form gap (left),
      the pointwise gap and the relative stds eps_rel_std, eps_tilde_rel_std (right), for 1 and 2
      hidden layers, with the bias-free UFM's values (theory.md §5 (a)) as dotted lines;
  sqi_network_per_sample: histograms of eps_i and (K-1) eps_tilde_{i,c'} at the end of training
      (2 hidden layers), against eps_avg, and the same for the UFM (a) and (b), where they are points;
  sqi_network_nc1: nc1 of every hidden layer over epochs (log scale);
  sqi_network_spectra: normalized singular values s_i/s_1 and the cumulative explained variance of
      the centered features of every hidden layer, at epoch 0 and at the end.
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

NETS = (("net_1hidden", "1 hidden layer"), ("net_2hidden", "2 hidden layers"))
COLORS = {"net_1hidden": "tab:blue", "net_2hidden": "tab:red"}


def load_json(directory, name):
    with open(os.path.join(directory, name + ".json")) as f:
        return json.load(f)


def per_sample(directory, name):
    sd = os.path.join(directory, name + ".state")
    H = np.load(os.path.join(sd, "H.npy"))
    W = np.load(os.path.join(sd, "W.npy"))
    y = np.load(os.path.join(sd, "labels.npy")).astype(np.int64)
    Z = W @ H
    if os.path.exists(os.path.join(sd, "b.npy")):
        Z = Z + np.load(os.path.join(sd, "b.npy"))[:, None]
    idx = np.arange(len(y))
    eps = 1.0 - Z[y, idx]
    mask = np.ones_like(Z, bool)
    mask[y, idx] = False
    return eps, Z[mask], Z.shape[0]


def sqi(directory, nets, ufm_none, figdir):
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    K = nets["net_2hidden"]["model"]["K"]
    for name, label in NETS:
        d = nets[name]
        tr = [c for c in d["trajectory"] if c["epoch"] > 0]
        e = np.array([c["epoch"] for c in tr])
        col = COLORS[name]
        axes[0].plot(e, [c["eps_avg"] for c in tr], color=col, lw=1.8, label="eps_avg, %s" % label)
        axes[0].plot(e, [(K - 1) * c["eps_tilde_avg"] for c in tr], color=col, lw=1.2, ls="--",
                     label="(K−1)·eps_tilde_avg, %s" % label)
        axes[0].plot(e, [c["sqi_avg_gap"] for c in tr], color=col, lw=1, ls=":", marker=".",
                     label="average-form gap, %s" % label)
        axes[1].plot(e, [c["sqi_pointwise_gap"] for c in tr], color=col, lw=1.8, label="pointwise gap, %s" % label)
        axes[1].plot(e, [c["eps_rel_std"] for c in tr], color=col, lw=1.2, ls="--", label="eps_rel_std, %s" % label)
        axes[1].plot(e, [c["eps_tilde_rel_std"] for c in tr], color=col, lw=1, ls=":",
                     label="eps_tilde_rel_std, %s" % label)
    u = ufm_none["final"]
    axes[0].axhline(u["eps_avg"], color="grey", ls="-.", lw=1,
                    label="UFM (a): eps_avg = avg gap = 1−s = %.4f" % u["eps_avg"])
    axes[1].axhline(u["sqi_pointwise_gap"], color="grey", ls="-.", lw=1,
                    label="UFM (a): pointwise gap = 1−s = %.4f" % u["sqi_pointwise_gap"])
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("epoch")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylim(bottom=0)
    axes[0].set_title("Assumption 2 (average form): eps_avg vs (K−1)·eps_tilde_avg", fontsize=10)
    axes[1].set_yscale("log")
    axes[1].set_title("Assumption 1 (pointwise): gap and relative spreads (0 if it held)", fontsize=10)
    c = nets["net_2hidden"]["config"]
    fig.suptitle("SQI over training: bias-free ReLU MLP on Fashion-MNIST (%d per class), MSE, λ = %g, "
                 "evaluation subset of %d training images" % (c["train_per_class"], c["lambda"], c["metric_samples"]),
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return study.save_figure(fig, figdir, "sqi_network_sqi")


def per_sample_fig(directory, nets, figdir):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    eps, et, K = per_sample(directory, "net_2hidden")
    ea = eps.mean()
    bins = np.linspace(min(eps.min(), (K - 1) * et.min()), max(eps.max(), (K - 1) * et.max()), 80)
    ax = axes[0]
    ax.hist(eps, bins=bins, alpha=0.6, color="tab:red", density=True, label="ε_i = 1 − z_i[y_i]")
    ax.hist((K - 1) * et, bins=bins, alpha=0.5, color="tab:blue", density=True, label="(K−1)·ε̃_{i,c'} = (K−1)·z_i[c']")
    ax.axvline(ea, color="k", lw=1, label="eps_avg = %.3f" % ea)
    ax.axvline(0, color="grey", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("value")
    ax.set_title("network, 2 hidden layers, end: Assumption 1 would put every value at eps_avg", fontsize=9)
    ax.legend(fontsize=7)
    for ax, name, title in ((axes[1], "ufm_bias_none", "UFM, bias-free (§5 (a))"),
                            (axes[2], "ufm_bias_free", "UFM, free bias (§5 (b))")):
        e, t, K = per_sample(directory, name)
        ax.scatter(np.arange(len(e)), e, s=4, color="tab:red", label="ε_i (%d samples)" % len(e))
        ax.scatter(np.arange(len(t)) * len(e) / len(t), (K - 1) * t, s=2, color="tab:blue",
                   label="(K−1)·ε̃_{i,c'} (%d values)" % len(t))
        ax.axhline(e.mean(), color="k", lw=1, label="eps_avg = %.5f" % e.mean())
        top = max(e.max(), (K - 1) * t.max())
        ax.set_ylim(-0.15 * top, 1.3 * top)     # the same scale as the values, not the 1e-9 spread
        ax.set_xlabel("sample index")
        ax.set_title(title + ": avg gap %.2e, pointwise gap %.2e" %
                     (abs(e.mean() - (K - 1) * t.mean()),
                      np.max(np.abs(e - e.mean())) + np.max(np.abs((K - 1) * t - e.mean()))), fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    fig.suptitle("Per-sample SQI quantities at the end (recomputed from the saved states, z = W h (+ b))", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return study.save_figure(fig, figdir, "sqi_network_per_sample")


def nc1_fig(nets, figdir):
    fig, ax = plt.subplots(figsize=(7.5, 5))
    styles = {("net_1hidden", "S1"): ("tab:blue", "-", "1 hidden: S1 (last)"),
              ("net_2hidden", "S1"): ("tab:orange", "--", "2 hidden: S1 (second-to-last)"),
              ("net_2hidden", "S2"): ("tab:red", "-", "2 hidden: S2 (last)")}
    for (name, lvl), (col, ls, label) in styles.items():
        tr = nets[name]["trajectory"]
        e = [max(c["epoch"], 1e-3) for c in tr]
        v = [c["levels"][lvl]["nc1"] for c in tr]
        ax.plot(e, v, color=col, ls=ls, marker=".", label="%s: %.3g → %.3g (×%.1f)" % (label, v[0], v[-1], v[0] / v[-1]))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("epoch (epoch 0 drawn at 1e-3)")
    ax.set_ylabel("nc1 = tr(Σ_W Σ_B⁺)/K")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Within-class variability per hidden layer (training evaluation subset)", fontsize=10)
    fig.tight_layout()
    return study.save_figure(fig, figdir, "sqi_network_nc1")


def spectra_fig(nets, figdir):
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    K = nets["net_2hidden"]["model"]["K"]
    styles = {("net_1hidden", "S1"): ("tab:blue", "1 hidden: S1 (last)"),
              ("net_2hidden", "S1"): ("tab:orange", "2 hidden: S1 (second-to-last)"),
              ("net_2hidden", "S2"): ("tab:red", "2 hidden: S2 (last)")}
    nshow = 4 * K
    for (name, lvl), (col, label) in styles.items():
        tr = nets[name]["trajectory"]
        for c, ls, when in ((tr[0], ":", "epoch 0"), (tr[-1], "-", "end")):
            s = np.asarray(c["levels"][lvl]["singular_values"], float)
            cum = np.cumsum(s ** 2) / np.sum(s ** 2)
            i = np.arange(1, len(s) + 1)
            axes[0].plot(i[:nshow], (s / s[0])[:nshow], color=col, ls=ls, marker="." if ls == "-" else None,
                         label="%s, %s" % (label, when))
            axes[1].plot(i[:nshow], cum[:nshow], color=col, ls=ls, marker="." if ls == "-" else None,
                         label="%s, %s: %.3f at K−1" % (label, when, cum[K - 2]))
    for ax in axes:
        ax.axvline(K - 1, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("index i (dashed line: K−1 = %d)" % (K - 1))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("σ_i / σ_1 (centered features)")
    axes[1].set_ylabel("cumulative explained variance Σ_{j≤i} σ_j² / Σ σ_j²")
    axes[1].set_ylim(0, 1.02)
    fig.suptitle("Spectra of the centered features H − μ_G 1ᵀ of every hidden layer (first %d of all singular values)"
                 % nshow, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return study.save_figure(fig, figdir, "sqi_network_spectra")


def main():
    directory, figdir = study.figures_cli(__doc__)
    nets = {name: load_json(directory, name) for name, _ in NETS}
    ufm_none = load_json(directory, "ufm_bias_none")
    written = (sqi(directory, nets, ufm_none, figdir) + per_sample_fig(directory, nets, figdir) +
               nc1_fig(nets, figdir) + spectra_fig(nets, figdir))
    for w in written:
        print(w)


if __name__ == "__main__":
    main()
