"""What the experiments/<study>/ scripts share: their command lines, reading results, the checks'
report, and saving figures. Python 3 with numpy and matplotlib only (matplotlib is imported on
first use, so check.py runs without it).

A script imports it by a path computed from its own file (it runs from any directory), without
writing bytecode into the source tree:

    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
    import study  # noqa: E402

Command lines, in one of two styles (`style`):
    "argparse"  check.py DIR [--quick], figures.py DIR [--out FIGDIR] (FIGDIR defaults to
                DIR/figures); errors as argparse reports them.
    "doc"       check.py DIR [--quick] (other --options ignored), figures.py DIR --out FIGDIR;
                a call of another shape prints the script's docstring and exits 2.

Results: `load_points` reads a one-grid study's DIR/results.jsonl with DIR/trajectories/<id>.json;
`sweep_records` the records of a `ufm-sim sweep --out FILE.jsonl` after its header line;
`check_mode` refuses a check of a quick run without --quick (and the other way round), from
DIR/meta.json; `check_setup` does all three for a one-grid study's check.py.

Checks: `Checks` prints one line a check with its measured value and PASS or FAIL, then a tally,
and exits 1 if any failed. Figures: `pyplot()` (the Agg backend) and `save_figure` (PNG and PDF).
"""
import argparse
import json
import os
import sys


# ---- command lines ----

def cli_error(path, why):
    """`<script>: error: <path>: <why>` on stderr and exit status 2 (a bad argument, before any work)."""
    script = os.path.relpath(os.path.abspath(sys.argv[0] or "study"), os.getcwd())
    print(f"{script}: error: {path or repr(path)}: {why}", file=sys.stderr)
    sys.exit(2)


def results_dir(directory):
    """DIR itself if it is a directory; else cli_error."""
    if not directory:
        cli_error(directory, "an empty path; give a study's results directory")
    if not os.path.isdir(directory):
        cli_error(directory, "not a directory" if os.path.exists(directory) else "no such directory")
    return directory


def check_cli(doc, style="argparse"):
    """(DIR, quick) of `check.py DIR [--quick]`; doc: the script's docstring. DIR must be a directory."""
    if style == "doc":
        args = [a for a in sys.argv[1:] if not a.startswith("--")]
        if len(args) != 1:
            print(doc)
            sys.exit(2)
        return results_dir(args[0]), "--quick" in sys.argv
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--quick", action="store_true", help="looser thresholds for run.sh --quick")
    args = ap.parse_args()
    return results_dir(args.dir), args.quick


def figures_cli(doc, style="argparse"):
    """(DIR, FIGDIR) of `figures.py DIR [--out FIGDIR]` (default DIR/figures), FIGDIR created; doc: the script's docstring."""
    if style == "doc":
        args = sys.argv[1:]
        if not args or args[0] in ("-h", "--help") or ("--out" in args and len(args) < 3):
            print(doc)
            sys.exit(2)
        directory = [a for i, a in enumerate(args) if a != "--out" and (i == 0 or args[i - 1] != "--out")][0]
        figdir = args[args.index("--out") + 1] if "--out" in args else os.path.join(directory, "figures")
    else:
        ap = argparse.ArgumentParser(description=doc.splitlines()[0])
        ap.add_argument("dir")
        ap.add_argument("--out", help="figure directory (default DIR/figures)")
        args = ap.parse_args()
        directory, figdir = args.dir, os.path.join(args.dir, "figures") if args.out is None else args.out
    if figdir == "":
        cli_error("", "--out: an empty path; give a figure directory")
    results_dir(directory)
    if os.path.lexists(figdir) and not os.path.isdir(figdir):
        cli_error(figdir, "exists and is not a directory; give a figure directory (it is created if missing)")
    os.makedirs(figdir, exist_ok=True)
    return directory, figdir


# ---- results ----

def read_jsonl(path):
    """Every record of a JSON-lines file (blank lines skipped)."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def sweep_records(path, missing_ok=False):
    """The records after the header line of a `ufm-sim sweep --out` file; [] for a missing file
    if missing_ok."""
    try:
        return read_jsonl(path)[1:]
    except FileNotFoundError:
        if missing_ok:
            return []
        raise


def load_points(directory, trajectories=True, sort=True):
    """The points of DIR/results.jsonl (records of type "point"), by index if sort (else in file
    order). With trajectories, each gets p["doc"], the whole of DIR/trajectories/<id>.json, and
    p["trajectory"], its "trajectory" list."""
    points = [r for r in read_jsonl(os.path.join(directory, "results.jsonl")) if r.get("type") == "point"]
    if sort:
        points.sort(key=lambda p: p["index"])
    if trajectories:
        for p in points:
            with open(os.path.join(directory, "trajectories", p["id"] + ".json")) as f:
                p["doc"] = json.load(f)
            p["trajectory"] = p["doc"].get("trajectory")
    return points


def check_mode(directory, quick):
    """Exit with a message when DIR/meta.json says the run was quick and `quick` is not (or the
    other way round); nothing without meta.json."""
    path = os.path.join(directory, "meta.json")
    if os.path.exists(path):
        with open(path) as f:
            made_quick = json.load(f).get("quick")
        if made_quick is not None and bool(made_quick) != quick:
            sys.exit("check.py: %s holds a %s run; call check.py %s --quick" %
                     (directory, "quick" if made_quick else "full", "with" if made_quick else "without"))


def check_setup(doc, trajectories=True, no_points="check.py: no points in %s"):
    """The start of a one-grid study's check.py: check_cli, check_mode, load_points. Returns
    (DIR, quick, points); exits with the message no_points % DIR when there are none."""
    directory, quick = check_cli(doc)
    check_mode(directory, quick)
    points = load_points(directory, trajectories=trajectories)
    if not points:
        sys.exit(no_points % directory)
    return directory, quick, points


# ---- checks ----

class Checks:
    """Records named checks and prints each as it comes.

    check(name, ok, value, detail="") records one. Without columns the line is
    `[PASS] name: value` and the tally `all checks passed` or `N check(s) FAILED`; with
    columns=(w_name, w_value) it is `name value PASS` padded to those widths (after indent, with
    "  detail" appended when given) and the tally `N checks, M failed`. finish() prints the tally
    and exits, with status 1 if any check failed and 0 otherwise."""

    def __init__(self, columns=None, indent=""):
        self.columns = columns
        self.indent = indent
        self.count = 0
        self.failed = 0

    def __call__(self, name, ok, value, detail=""):
        verdict = "PASS" if ok else "FAIL"
        if self.columns is None:
            line = f"[{verdict}] {name}: {value}"
        else:
            w_name, w_value = self.columns
            line = "%s%-*s %-*s %s" % (self.indent, w_name, name, w_value, value, verdict)
        print(line + (("  " + detail) if detail else ""))
        self.count += 1
        self.failed += not ok

    def finish(self):
        if self.columns is None:
            print("all checks passed" if not self.failed else f"{self.failed} check(s) FAILED")
        else:
            print("%d checks, %d failed" % (self.count, self.failed))
        sys.exit(1 if self.failed else 0)


# ---- figures ----

def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def figure_writer():
    """plots/ufm_io.py, whose write_figure writes every figure (atomically, and never through a
    symlink, device or FIFO); its error messages name the running script."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    plots = os.path.join(root, "plots")
    if plots not in sys.path:
        sys.path.insert(0, plots)
    import ufm_io
    if ufm_io.SCRIPT is None:
        ufm_io.SCRIPT = os.path.relpath(os.path.abspath(sys.argv[0] or "figures.py"), root)
    return ufm_io


def save_figure(fig, directory, name, dpi=130, bbox_inches=None, announce=False):
    """Write DIR/name.png and DIR/name.pdf (each atomically: figure_writer), close the figure,
    return the two paths; with announce, print `wrote DIR/name.png, .pdf`."""
    import matplotlib.pyplot as plt
    extra = {} if bbox_inches is None else {"bbox_inches": bbox_inches}
    write = figure_writer().write_figure
    paths = [write(fig, os.path.join(directory, name + "." + ext), dpi=dpi, **extra) for ext in ("png", "pdf")]
    plt.close(fig)
    if announce:
        print(f"wrote {directory}/{name}.png, .pdf")
    return paths
