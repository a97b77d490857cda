#!/usr/bin/python3
"""Plot metrics of ufm-sim trajectories: one panel per metric, one line per file (or per level).

Reads UFM runs (`ufm-sim run`, JSON or --format jsonl), deep runs, network runs (`ufm-sim net`),
compare documents (three lines: network, ufm, ufm_from_network) and toy runs. The x axis is
`time` for gradient-flow runs, `epoch` for networks, else `step`; the y axis is logarithmic
(symlog in a panel with values <= 0). Null values are skipped.

example: plots/trajectory.py run.json net.json --metrics nc1,nc3,objective --out fig.png
"""
import argparse
import sys

if __package__:
    from . import ufm_io
else:
    import ufm_io

MAX_COLUMNS = 3


def parse_args(argv):
    p = argparse.ArgumentParser(prog="plots/trajectory.py", description=__doc__.split("\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="ufm-sim outputs (.json or .jsonl)")
    p.add_argument("--metrics", default="nc1,nc3",
                   help="comma-separated metric names (theory.md §4), default nc1,nc3")
    p.add_argument("--levels", default=None,
                   help="'all' or comma-separated level names (H1,S1,... ; 'top' = the "
                        "top-level metrics): one line per level instead of the top level")
    p.add_argument("--test", action="store_true",
                   help="also the test-set metrics of networks (dashed)")
    p.add_argument("--xscale", choices=["auto", "linear", "log"], default="auto",
                   help="auto: symlog/log when x spans > 2 decades (default)")
    p.add_argument("--yscale", choices=["auto", "linear"], default="auto",
                   help="auto: log, or symlog in panels with values <= 0 (default)")
    p.add_argument("--title", default=None, help="a title over the panels")
    p.add_argument("--out", required=True, help="the figure: .png, .pdf or .svg")
    return p.parse_args(argv)


def split_names(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def level_choice(doc, path, levels_arg):
    """The levels to draw for one run: [top], all of its levels, or the named ones."""
    if levels_arg is None:
        return [ufm_io.TOP]
    have = ufm_io.levels_of(doc)
    if levels_arg == "all":
        return have or [ufm_io.TOP]
    wanted = split_names(levels_arg)
    missing = [w for w in wanted if w != ufm_io.TOP and w not in have]
    if missing:
        ufm_io.fail(path, f"no level {', '.join(missing)} (it has: {', '.join(have) or 'none'})")
    return wanted


def sources(paths, args):
    """Every line to draw: dicts with label, doc, level, test and a colour index."""
    labels = ufm_io.labels_for(paths)
    out = []
    for path, label in zip(paths, labels):
        for suffix, doc in ufm_io.load_runs(path, "a run with a trajectory"):
            name = f"{label}:{suffix}" if suffix else label
            for level in level_choice(doc, path, args.levels):
                shown = f"{name} {level}" if args.levels is not None else name
                out.append({"label": shown, "doc": doc, "path": path, "level": level,
                            "colour": len(out)})
    return out


def line_variants(src, test):
    yield False
    if test and any("test" in cp for cp in src["doc"].get("trajectory") or []):
        yield True


def check_metric(name, srcs, paths):
    """Exit 2 when no file has the metric anywhere, or when it is a list."""
    seen = []
    for s in srcs:
        for cp in s["doc"].get("trajectory") or []:
            for lvl in (s["level"], ufm_io.TOP):
                if ufm_io.has_metric(cp, name, lvl):
                    seen.append(ufm_io.metric(cp, name, lvl))
    if not seen:
        ufm_io.fail(", ".join(paths), f"no metric '{name}' in any checkpoint")
    if any(isinstance(v, (list, dict)) for v in seen):
        ufm_io.fail(None, f"metric '{name}' is a list, not a curve (see plots/spectrum.py)")


def doc_lines(name, group, test):
    """The lines of one run's sources; if none of its levels has the metric, its top level."""
    lines = []
    for s in group:
        for is_test in line_variants(s, test):
            xs, ys = ufm_io.series(s["doc"], name, s["level"], is_test)
            if xs:
                lines.append((s, is_test, xs, ys))
    levels = [s["level"] for s in group]
    if lines or ufm_io.TOP in levels:
        return lines
    # the top level is the penultimate one with the classifier: the last level's colour
    top = {**group[-1], "label": group[-1]["label"].rsplit(" ", 1)[0] + " top"}
    for is_test in line_variants(top, test):  # e.g. nc3 lives at the top level only
        xs, ys = ufm_io.series(top["doc"], name, ufm_io.TOP, is_test)
        if xs:
            lines.append((top, is_test, xs, ys))
    return lines


def panel_lines(name, srcs, test):
    """(src, is_test, xs, ys) for one metric, run by run."""
    groups = {}
    for s in srcs:
        groups.setdefault(id(s["doc"]), []).append(s)
    return [line for group in groups.values() for line in doc_lines(name, group, test)]


def set_x_scale(ax, xs, mode):
    positive = [x for x in xs if x > 0]
    if mode == "linear" or not positive:
        return
    if mode == "auto" and max(positive) / min(positive) <= 100:
        return
    if min(xs) <= 0:
        ax.set_xscale("symlog", linthresh=min(positive))
    else:
        ax.set_xscale("log")


def draw_panel(ax, name, lines, args, colours):
    ax.set_title(name)
    if not lines:
        ax.text(0.5, 0.5, "no values (all null)", ha="center", transform=ax.transAxes)
        ufm_io.warn(f"metric '{name}': no values to draw (all null)")
        return
    for s, is_test, xs, ys in lines:
        ax.plot(xs, ys, color=colours[s["colour"] % len(colours)], ls="--" if is_test else "-",
                marker=".", ms=3, lw=1.2, label=s["label"] + (" (test)" if is_test else ""))
    all_x = [x for _, _, xs, _ in lines for x in xs]
    all_y = [y for _, _, _, ys in lines for y in ys]
    set_x_scale(ax, all_x, args.xscale)
    if args.yscale == "auto":
        ufm_io.set_scale(ax, "y", all_y)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="x-small")


def x_label(srcs):
    names = []
    for s in srcs:
        name = ufm_io.x_axis(s["doc"])[0]
        if name not in names:
            names.append(name)
    return " / ".join(names)


def main(argv=None):
    ufm_io.SCRIPT = "plots/trajectory.py"
    args = parse_args(argv)
    ufm_io.check_out(args.out)
    metrics = split_names(args.metrics)
    if not metrics:
        ufm_io.fail(None, "--metrics names no metric")
    srcs = sources(args.files, args)
    for name in metrics:
        check_metric(name, srcs, args.files)
    ncols = min(MAX_COLUMNS, len(metrics))
    nrows = -(-len(metrics) // ncols)
    fig, axes = ufm_io.figure(nrows, ncols, top=0.75 if args.title else 0.4)
    colours = ufm_io.colour_cycle()
    for ax, name in zip(axes.flat, metrics):
        draw_panel(ax, name, panel_lines(name, srcs, args.test), args, colours)
        ax.set_xlabel(x_label(srcs))
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    if args.title:
        fig.suptitle(args.title)
    for path in ufm_io.save(fig, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
