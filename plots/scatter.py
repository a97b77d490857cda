#!/usr/bin/python3
"""Theory against simulation: the `theory_check` quantities of runs and sweeps, with y = x.

Reads run documents made with `--check-theory` (JSON or JSONL), sweeps whose points carry
`theory_check` (a grid with "check_theory": true) and compare documents whose runs do. Every
compared quantity (min_value, w_norm, h_norm, b_norm, and each element of wwt_eigenvalues,
wh_singular_values, ...) is one point (predicted, simulated), one colour per quantity; a check
that failed is circled in red. The axes are logarithmic when every value is > 0 (pairs that are
exactly 0 = 0, like b_norm of a bias-free model, are then left out and counted in the title),
else linear. A second panel shows each check's recorded relative error.

example: plots/scatter.py check.json sweep.jsonl --out theory.png
"""
import argparse
import collections
import sys

if __package__:
    from . import ufm_io
else:
    import ufm_io

ERROR_FLOOR = 1e-17  # an error of exactly 0 is drawn here on the log error axis
Pair = collections.namedtuple("Pair", "name predicted simulated passed error check")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="plots/scatter.py", description=__doc__.split("\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="runs with --check-theory, sweeps with check_theory, compare documents")
    p.add_argument("--quantities", default=None,
                   help="comma-separated quantity names to keep (default: all)")
    p.add_argument("--scale", choices=["auto", "log", "linear"], default="auto",
                   help="auto: log when every value is > 0 (default)")
    p.add_argument("--title", default=None)
    p.add_argument("--out", required=True, help="the figure: .png, .pdf or .svg")
    return p.parse_args(argv)


def checks_of(loaded):
    """The theory_check dicts of one loaded file."""
    if loaded["kind"] == "sweep":
        return [p["theory_check"] for p in loaded["points"] if isinstance(p.get("theory_check"), dict)]
    docs = [doc for _, doc in ufm_io.runs_of(loaded)]
    return [d["theory_check"] for d in docs if isinstance(d.get("theory_check"), dict)]


def pairs_of(check, keep, check_id):
    """A Pair for every compared number of a check (each element of a list quantity)."""
    out = []
    for name, q in (check.get("quantities") or {}).items():
        if not isinstance(q, dict) or (keep and name not in keep):
            continue
        pred, sim = q.get("predicted"), q.get("simulated")
        preds = pred if isinstance(pred, list) else [pred]
        sims = sim if isinstance(sim, list) else [sim]
        for a, b in zip(preds, sims):
            a, b = ufm_io.number(a), ufm_io.number(b)
            if a is not None and b is not None:
                out.append(Pair(name, a, b, q.get("pass") is not False,
                                ufm_io.number(q.get("error")), check_id))
    return out


def collect(paths, keep):
    pairs = []
    for path in paths:
        loaded = ufm_io.load_or_fail(path)
        checks = checks_of(loaded)
        if not checks:
            ufm_io.fail(path, "no theory_check (run with --check-theory, or a grid with "
                              "\"check_theory\": true)")
        found = [pair for c in checks for pair in pairs_of(c, keep, (path, id(c)))]
        if not found:
            ufm_io.fail(path, "its theory_check compares no numbers" +
                        (f" among {', '.join(sorted(keep))}" if keep else ""))
        pairs.extend(found)
    return pairs


def choose_scale(pairs, mode):
    """('log' or 'linear', the pairs to draw)."""
    if mode == "linear":
        return "linear", pairs
    nonzero = [p for p in pairs if not (p.predicted == 0 and p.simulated == 0)]
    positive = nonzero and all(p.predicted > 0 and p.simulated > 0 for p in nonzero)
    if positive or mode == "log":
        return "log", [p for p in nonzero if p.predicted > 0 and p.simulated > 0]
    return "linear", pairs


def draw_identity(ax, pairs, scale):
    import numpy as np
    vals = [v for p in pairs for v in (p.predicted, p.simulated)]
    lo, hi = min(vals), max(vals)
    if scale == "log":
        lo, hi = lo / 1.5, hi * 1.5
    else:
        pad = 0.05 * (hi - lo or 1.0)
        lo, hi = lo - pad, hi + pad
    line = np.geomspace(lo, hi, 50) if scale == "log" else np.linspace(lo, hi, 50)
    ax.plot(line, line, color="0.4", lw=1, ls="--", label="y = x", zorder=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)


def by_quantity(pairs):
    groups = {}
    for p in pairs:
        groups.setdefault(p.name, []).append(p)
    return groups


def colours_for(pairs):
    """One colour per quantity name, the same in both panels."""
    cycle = ufm_io.colour_cycle()
    return {name: cycle[k % len(cycle)] for k, name in enumerate(by_quantity(pairs))}


def draw_scatter(ax, pairs, scale, colours):
    draw_identity(ax, pairs, scale)
    for name, group in by_quantity(pairs).items():
        ax.scatter([p.predicted for p in group], [p.simulated for p in group], s=22, alpha=0.8,
                   label=name, color=colours[name], zorder=2)
    failed = [p for p in pairs if not p.passed]
    if failed:
        ax.scatter([p.predicted for p in failed], [p.simulated for p in failed], s=90,
                   facecolors="none",
                   edgecolors="red", lw=1.4, label=f"failed check ({len(failed)})", zorder=3)
    if scale == "log":
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("predicted (theory.md §5)")
    ax.set_ylabel("simulated")
    ax.legend(fontsize="x-small")
    ax.grid(True, alpha=0.3)


def draw_errors(ax, pairs, colours):
    """Each check's recorded error of each quantity (once per check, not per list element)."""
    groups = by_quantity(pairs)
    for k, (name, group) in enumerate(groups.items()):
        once = {p.check: p.error for p in group if p.error is not None}
        errs = [max(e, ERROR_FLOOR) for e in once.values()]
        ax.scatter([k] * len(errs), errs, s=16, alpha=0.7, color=colours[name])
    ax.set_xticks(range(len(groups)), list(groups), rotation=30, ha="right", fontsize="small")
    ax.set_yscale("log")
    ax.set_ylabel(f"recorded error (0 drawn at {ERROR_FLOOR:g})")
    ax.grid(True, axis="y", alpha=0.3)


def main(argv=None):
    ufm_io.SCRIPT = "plots/scatter.py"
    args = parse_args(argv)
    ufm_io.check_out(args.out)
    keep = set(args.quantities.split(",")) if args.quantities else None
    pairs = collect(args.files, keep)
    scale, shown = choose_scale(pairs, args.scale)
    if not shown:
        ufm_io.fail(args.files[0], "no positive (predicted, simulated) pair for log axes")
    fig, axes = ufm_io.figure(1, 2, width=5.0, height=4.6, bottom=1.1, top=0.75)
    colours = colours_for(pairs)
    draw_scatter(axes[0, 0], shown, scale, colours)
    draw_errors(axes[0, 1], pairs, colours)
    failed = sum(1 for p in pairs if not p.passed)
    left_out = len(pairs) - len(shown)
    note = f"; {left_out} zero/non-positive pair(s) not on log axes" if left_out else ""
    fig.suptitle(args.title or f"theory vs simulation: {len(pairs)} values, {failed} in failed "
                               f"checks{note}", fontsize="medium")
    for path in ufm_io.save(fig, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
