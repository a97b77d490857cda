#!/usr/bin/python3
"""Spectra of the features at one checkpoint: normalized singular values and explained variance.

For each feature level of a run, the checkpoint's `singular_values` (of the centered features
H - mu_G 1^T, theory.md §4) divided by the largest, and the cumulative explained variance
sum_{j<=i} sigma_j^2 / sum_j sigma_j^2, with a dotted line at i = K-1 (where a collapsed
spectrum saturates). The levels are the top level (the penultimate features; `H` in a 1-layer
UFM) and every entry of `levels` (H1, S1, ... for a deep UFM; S1, S2, ... for a network); the top
level is left out when it repeats a level. UFM runs, networks (--test: the test set's features)
and compare documents (each of their runs) alike. ufm-sim cuts singular_values to
--max-singular-values, so the cumulative curve is over the values the file holds.

example: plots/spectrum.py deep.json --checkpoint -1 --out spectrum.png
"""
import argparse
import sys

if __package__:
    from . import ufm_io
else:
    import ufm_io


def parse_args(argv):
    p = argparse.ArgumentParser(prog="plots/spectrum.py", description=__doc__.split("\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="run, net or compare outputs")
    p.add_argument("--checkpoint", type=int, default=-1,
                   help="trajectory index, negative from the end (default -1, the last)")
    p.add_argument("--test", action="store_true", help="the test set's spectra (networks)")
    p.add_argument("--title", default=None)
    p.add_argument("--out", required=True, help="the figure: .png, .pdf or .svg")
    return p.parse_args(argv)


def level_spectra(cp, test):
    """[(level name, singular values, effective rank)] of one checkpoint, top level first."""
    scope = cp.get("test") if test else cp
    if not isinstance(scope, dict):
        return []
    levels = scope.get("levels") if isinstance(scope.get("levels"), dict) else {}
    out = []
    top = scope.get("singular_values")
    if isinstance(top, list) and not any(lv.get("singular_values") == top for lv in levels.values()):
        out.append(("top" if levels else "H", top, scope.get("effective_rank")))
    for name, lv in levels.items():
        if isinstance(lv.get("singular_values"), list):
            out.append((name, lv["singular_values"], lv.get("effective_rank")))
    return out


def spectra_of(path, label, args):
    """Every (label, values, effective rank, K) line of one file at the chosen checkpoint."""
    lines = []
    for suffix, doc in ufm_io.load_runs(path, "a run with checkpoints"):
        try:
            cp = ufm_io.checkpoint_at(doc, args.checkpoint)
        except IndexError as e:
            ufm_io.fail(path, str(e))
        name = f"{label}:{suffix}" if suffix else label
        K = (doc.get("model") or {}).get("K")
        for level, values, erank in level_spectra(cp or {}, args.test):
            nums = [v for v in map(ufm_io.number, values) if v is not None]
            if nums and max(nums) > 0:
                lines.append((f"{name} {level}", nums, erank, K, checkpoint_x(doc, cp)))
    if not lines:
        what = "test " if args.test else ""
        ufm_io.fail(path, f"no nonzero {what}singular values at checkpoint {args.checkpoint}")
    return lines


def checkpoint_x(doc, cp):
    name, key = ufm_io.x_axis(doc)
    value = ufm_io.number((cp or {}).get(key))
    return f"{name} {value:g}" if value is not None else name


def draw_lines(left, right, lines):
    import numpy as np
    for label, values, erank, _, _ in lines:
        s = np.sort(np.asarray(values, dtype=float))[::-1]
        i = np.arange(1, len(s) + 1)
        shown = s > 0
        extra = f" (eff. rank {erank:.3g})" if ufm_io.number(erank) is not None else ""
        left.plot(i[shown], s[shown] / s[0], marker="o", ms=3, label=label + extra)
        right.plot(i, np.cumsum(s ** 2) / np.sum(s ** 2), marker="o", ms=3, label=label)
    for n, K in enumerate(sorted({k for *_, k, _ in lines if k})):
        for ax in (left, right):
            ax.axvline(K - 1, color="0.5", ls=":", lw=1)
        right.text(K - 1, 0.03 + 0.07 * n, f" K-1 = {K - 1}", color="0.4", fontsize="x-small")


def draw(lines, args):
    fig, axes = ufm_io.figure(1, 2, width=5.0, height=3.9, top=0.75)
    left, right = axes[0, 0], axes[0, 1]
    draw_lines(left, right, lines)
    left.set_yscale("log")
    left.set(xlabel="index i", ylabel=r"$\sigma_i / \sigma_1$", title="normalized singular values")
    right.set(xlabel="index i", ylabel="fraction of the total squared singular values",
              ylim=(0, 1.02),
              title=r"cumulative explained variance $\Sigma_{j\leq i}\sigma_j^2 / \Sigma_j \sigma_j^2$")
    for ax in (left, right):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="x-small")
    where = sorted({x for *_, x in lines})
    fig.suptitle(args.title or f"spectra at checkpoint {args.checkpoint} ({', '.join(where)})"
                 + (", test set" if args.test else ""), fontsize="medium")
    return fig


def main(argv=None):
    ufm_io.SCRIPT = "plots/spectrum.py"
    args = parse_args(argv)
    ufm_io.check_out(args.out)
    labels = ufm_io.labels_for(args.files)
    lines = [line for path, label in zip(args.files, labels)
             for line in spectra_of(path, label, args)]
    fig = draw(lines, args)
    for path in ufm_io.save(fig, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
