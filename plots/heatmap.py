#!/usr/bin/python3
"""Heatmap of a ufm-sim sweep: one cell per (x, y) grid value, the metric reduced over seeds.

x and y are two axes of the sweep (keys of each point's `values`); a cell holds the mean (or
median) of the metric over the points with those values, i.e. over the seeds. Every other axis
must take one value: pick one with --where AXIS=VALUE. The metric comes from each point's `final`
checkpoint (`prediction` for a theory sweep), at the top level or at --level; points where it is
null (e.g. nc1 at the zero solution W = H = 0) are left out, and a cell with none is grey. An axis
whose values are all > 0 and span 2 decades or more is logarithmic; so is the colour scale
when the values are >= 0 and the positive ones span more than 2 decades.

--threshold-curve theory draws the collapse threshold of theory.md §5 (a), MSE bias-free:
c = K·sqrt(n·λ_W·λ_H) = 1 (the global minimizer is W = H = 0 for c >= 1). It assumes every point
is a 1-layer, balanced, bias-free MSE UFM with d >= K and no fixed classifier, and that each of K
(classes), n (per_class), λ_W (lambda_w) and λ_H (lambda_h) either equals an x/y axis value at
every point (an axis `lambda` sets both λ_W and λ_H) or is the same at every point; then c is a
function of (x, y) and its level set c = 1 is drawn (K and n taken as continuous). Where these do
not hold the curve is left out with a warning saying which one failed.

example: plots/heatmap.py sweep.jsonl --x lambda --y classes --metric nc1 --threshold-curve theory --out pd.png
"""
import argparse
import json
import math
import sys

if __package__:
    from . import ufm_io
else:
    import ufm_io

C_PARAMS = ("classes", "per_class", "lambda_w", "lambda_h")
MAX_ANNOTATED_CELLS = 80


def parse_args(argv):
    p = argparse.ArgumentParser(prog="plots/heatmap.py", description=__doc__.split("\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="SWEEP",
                   help="sweep output(s) (JSONL; shards are joined)")
    p.add_argument("--x", required=True, help="the axis along x, e.g. lambda")
    p.add_argument("--y", required=True, help="the axis along y, e.g. classes")
    p.add_argument("--metric", required=True, help="a metric of `final`, e.g. nc1")
    p.add_argument("--level", default=None, help="read the metric at this level (H1, S1, ...)")
    p.add_argument("--reduce", choices=["mean", "median"], default="mean",
                   help="how seeds are combined (default mean)")
    p.add_argument("--where", action="append", default=[], metavar="AXIS=VALUE",
                   help="keep only points with this axis value (repeatable)")
    p.add_argument("--threshold-curve", choices=["theory"], default=None,
                   help="overlay c = K*sqrt(n*lambda_w*lambda_h) = 1 (theory.md §5 (a))")
    p.add_argument("--title", default=None)
    p.add_argument("--out", required=True, help="the figure: .png, .pdf or .svg")
    return p.parse_args(argv)


# ---------------------------------------------------------------- points

def load_points(paths):
    points = []
    for path in paths:
        loaded = ufm_io.load_or_fail(path)
        if loaded["kind"] != "sweep":
            ufm_io.fail(path, f"a {loaded['kind']} output, not a sweep (ufm-sim sweep --out X.jsonl)")
        points.extend(loaded["points"])
    unique = {}
    for p in points:  # shards of one grid: a point may appear once per file
        unique.setdefault((p.get("index"), p.get("id")), p)
    if not unique:
        ufm_io.fail(paths[0], "the sweep has no points yet")
    return list(unique.values())


def same_value(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)
    return a == b


def parse_where(text):
    if "=" not in text:
        ufm_io.fail(None, f"--where {text}: expected AXIS=VALUE")
    axis, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return axis.strip(), value


def apply_where(points, wheres, paths):
    for text in wheres:
        axis, value = parse_where(text)
        kept = [p for p in points if same_value((p.get("values") or {}).get(axis), value)]
        if not kept:
            have = ufm_io.axis_values(points).get(axis)
            ufm_io.fail(paths[0], f"--where {text}: no point has it (values of {axis}: {have})")
        points = kept
    return points


def check_axes(points, args):
    axes = ufm_io.axis_values(points)
    for name in (args.x, args.y):
        if name not in axes:
            ufm_io.fail(args.files[0], f"no axis '{name}' (axes: {', '.join(axes)})")
    if args.x == args.y:
        ufm_io.fail(None, "--x and --y name the same axis")
    for name, values in axes.items():
        if name not in (args.x, args.y, "seed") and len(values) > 1:
            ufm_io.fail(args.files[0], f"axis '{name}' varies too ({len(values)} values): "
                                       f"pick one with --where {name}=VALUE")
    return axes[args.x], axes[args.y]


def point_metric(point, args):
    return ufm_io.metric(ufm_io.point_result(point), args.metric, args.level)


def check_metric(points, args):
    present = [p for p in points
               if ufm_io.has_metric(ufm_io.point_result(p), args.metric, args.level)]
    where = f" at level {args.level}" if args.level else ""
    if not present:
        ufm_io.fail(args.files[0], f"no metric '{args.metric}'{where} in the points' results")
    if any(isinstance(point_metric(p, args), (list, dict)) for p in present):
        ufm_io.fail(None, f"metric '{args.metric}' is a list, not a number")
    failed = [p for p in points if p.get("exit_status") not in (0, None)]
    if failed:
        ufm_io.warn(f"{len(failed)} point(s) ended with a nonzero exit status (kept as they are)")


def cells(points, xs, ys, args):
    """A len(ys) x len(xs) array of the reduced metric (NaN: no value) and the seeds per cell."""
    import numpy as np
    grid = [[[] for _ in xs] for _ in ys]
    for p in points:
        vals = p.get("values") or {}
        i, j = index_of(ys, vals.get(args.y)), index_of(xs, vals.get(args.x))
        grid[i][j].append(ufm_io.number(point_metric(p, args)))
    reduce = np.mean if args.reduce == "mean" else np.median
    z = np.array([[reduce(nums) if nums else np.nan for nums in map(numbers, row)]
                  for row in grid], dtype=float)
    counts = [len(c) for row in grid for c in row if c]
    return z, counts


def numbers(cell):
    return [v for v in cell if v is not None]


def index_of(values, v):
    return next(k for k, u in enumerate(values) if same_value(u, v))


# ---------------------------------------------------------------- drawing

def numeric(values):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def edges(values, log):
    """Cell edges around sorted values: midpoints (geometric on a log axis)."""
    import numpy as np
    if not numeric(values):
        return np.arange(len(values) + 1) - 0.5
    v = np.log10(values) if log else np.asarray(values, dtype=float)
    if len(v) == 1:
        mid = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        inner = (v[1:] + v[:-1]) / 2
        mid = np.concatenate([[2 * v[0] - inner[0]], inner, [2 * v[-1] - inner[-1]]])
    return 10 ** mid if log else mid


def colour_norm(z):
    """(norm, z to colour, note): a log scale when the values are >= 0 and the positive ones
    span > 2 decades (cells at exactly 0 then take the lowest colour), else linear."""
    import numpy as np
    from matplotlib.colors import LogNorm, Normalize
    finite = z[np.isfinite(z)]
    positive = finite[finite > 0]
    if positive.size and finite.min() >= 0 and positive.max() / positive.min() > 100:
        zeros = bool((finite == 0).any())
        shown = np.where(z == 0, positive.min(), z)
        return LogNorm(positive.min(), positive.max()), shown, " (0 at the lowest colour)" if zeros else ""
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    return Normalize(lo, hi if hi > lo else lo + 1), z, ""


def set_axis(ax, axis, values, log):
    label = ax.set_xlabel if axis == "x" else ax.set_ylabel
    if log:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    elif not numeric(values):
        (ax.set_xticks if axis == "x" else ax.set_yticks)(range(len(values)), [str(v) for v in values])
    elif len(values) <= 12:
        (ax.set_xticks if axis == "x" else ax.set_yticks)(values, [f"{v:.3g}" for v in values])
    return label


def annotate(ax, z, xs, ys, xlog, ylog):
    import numpy as np
    if z.size > MAX_ANNOTATED_CELLS:
        return
    xc = centres(xs, xlog)
    yc = centres(ys, ylog)
    for i, y in enumerate(yc):
        for j, x in enumerate(xc):
            text = "null" if not np.isfinite(z[i, j]) else f"{z[i, j]:.2g}"
            ax.text(x, y, text, ha="center", va="center", fontsize="x-small", color="k",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.5, "lw": 0})


def centres(values, log):
    return values if numeric(values) else list(range(len(values)))


def draw(points, xs, ys, args):
    import numpy as np
    xlog, ylog = ufm_io.spans_decades(xs), ufm_io.spans_decades(ys)
    z, counts = cells(points, xs, ys, args)
    fig, axes = ufm_io.figure(1, 1, width=6.0, height=4.5)
    ax = axes[0, 0]
    ax.set_facecolor("0.85")  # cells without a value
    norm, shown, note = colour_norm(z)
    mesh = ax.pcolormesh(edges(xs, xlog), edges(ys, ylog), np.ma.masked_invalid(shown),
                         norm=norm, cmap="viridis", shading="flat")
    label = args.metric + (f" [{args.level}]" if args.level else "")
    fig.colorbar(mesh, ax=ax, label=label + note)
    set_axis(ax, "x", xs, xlog)(args.x)
    set_axis(ax, "y", ys, ylog)(args.y)
    annotate(ax, z, xs, ys, xlog, ylog)
    seeds = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
    nulls = " (grey: no value)" if np.isnan(z).any() else ""
    ax.set_title(args.title or f"{label}: {args.reduce} over {seeds} point(s) per cell{nulls}")
    if args.threshold_curve:
        threshold_curve(ax, points, xs, ys, (xlog, ylog), args)
    return fig


# ---------------------------------------------------------------- theory threshold

def theory_assumption_failure(points):
    """The first theory.md §5 (a) assumption a point violates, or None."""
    for p in points:
        c = p.get("config") or {}
        checks = [(c.get("loss") == "mse", "loss is not mse"),
                  (c.get("bias") in ("none", None), "bias is not none"),
                  ((c.get("layers") or 1) == 1, "layers != 1"),
                  (c.get("imbalance") in (None, 1, 1.0) and not c.get("class_counts"),
                   "classes are imbalanced"),
                  (c.get("fixed_classifier") in (None, "none"), "a fixed classifier"),
                  (all(c.get(k) is not None for k in C_PARAMS + ("dim",)),
                   "the config lacks classes/per_class/lambda_w/lambda_h/dim")]
        for ok, why in checks:
            if not ok:
                return f"point {p.get('index')}: {why}"
        if c["dim"] < c["classes"]:
            return f"point {p.get('index')}: dim < classes"
    return None


def param_source(points, param, axes):
    """('axis', name) when the config value equals that axis value at every point,
    ('const', value) when it is the same everywhere, else None."""
    for axis in axes:
        if all(same_value(p["config"][param], (p.get("values") or {}).get(axis)) for p in points):
            return ("axis", axis)
    first = points[0]["config"][param]
    if all(same_value(p["config"][param], first) for p in points):
        return ("const", first)
    return None


def c_function(points, args):
    """c(x, y) as a function on arrays, or (None, why)."""
    sources = {}
    for param in C_PARAMS:
        src = param_source(points, param, (args.x, args.y))
        if src is None:
            return None, f"{param} varies with neither --x nor --y"
        sources[param] = src

    def value(param, x, y):
        kind, what = sources[param]
        if kind == "const":
            return what
        return x if what == args.x else y

    def c(x, y):
        import numpy as np
        prod = value("per_class", x, y) * value("lambda_w", x, y) * value("lambda_h", x, y)
        return value("classes", x, y) * np.sqrt(prod)

    if all(kind == "const" for kind, _ in sources.values()):
        return None, "c does not depend on --x or --y"
    return c, None


def threshold_curve(ax, points, xs, ys, logs, args):
    import numpy as np
    from matplotlib.lines import Line2D
    why = None if numeric(xs) and numeric(ys) else "an axis is not numeric"
    why = why or theory_assumption_failure(points)
    c = None
    if not why:
        c, why = c_function(points, args)
    if why:
        ufm_io.warn(f"no threshold curve: {why}")
        return
    gx = fine_grid(edges(xs, logs[0]), logs[0])
    gy = fine_grid(edges(ys, logs[1]), logs[1])
    X, Y = np.meshgrid(gx, gy)
    C = c(X, Y)
    if not (np.nanmin(C) < 1 < np.nanmax(C)):
        ufm_io.warn(f"no threshold curve: c stays in [{np.nanmin(C):.3g}, {np.nanmax(C):.3g}] here")
        return
    ax.contour(X, Y, C, levels=[1.0], colors="red", linewidths=1.8, linestyles="--")
    proxy = Line2D([], [], color="red", ls="--", lw=1.8, label=r"$K\sqrt{n\lambda_W\lambda_H}=1$")
    ax.legend(handles=[proxy], loc="best", fontsize="small")


def fine_grid(e, log, n=200):
    import numpy as np
    if log:
        return np.logspace(np.log10(e[0]), np.log10(e[-1]), n)
    return np.linspace(e[0], e[-1], n)


def main(argv=None):
    ufm_io.SCRIPT = "plots/heatmap.py"
    args = parse_args(argv)
    ufm_io.check_out(args.out)
    points = apply_where(load_points(args.files), args.where, args.files)
    xs, ys = check_axes(points, args)
    check_metric(points, args)
    fig = draw(points, xs, ys, args)
    for path in ufm_io.save(fig, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
