"""Shared reader for ufm-sim outputs, used by every script in plots/.

`load(path)` reads any ufm-sim output into plain Python structures (dicts and lists):

- a run or net document (`ufm-sim run|net --out X.json`) or its `--format jsonl` stream
  (header, checkpoint and end records), reassembled into the document's shape:
  ``{"kind": "run", "path": p, "doc": {..., "trajectory": [...], "final": {...}}}``;
- a sweep (`ufm-sim sweep`/`merge` JSONL: a header line, then one line per point):
  ``{"kind": "sweep", "path": p, "header": {...}, "points": [...]}``;
- a compare document (`ufm-sim compare`): ``{"kind": "compare", "path": p, "doc": {...},
  "runs": {"network": doc, "ufm": doc, "ufm_from_network": doc}}``;
- a theory document (`ufm-sim theory`) or a toy run (`ufm-sim toy`): kind "theory" / "toy".

A file it cannot read (missing, not JSON, not a ufm-sim output) ends the script with one line
``plots/<script>.py: error: <file>: <why>`` on stderr and exit status 2 (`fail`).

Metrics are looked up by `metric(checkpoint, name, level=None, test=False)`: the top level of a
checkpoint, `levels[<level>]`, `test`, or `test.levels[<level>]`. The x axis of a trajectory
(`x_axis`) is `time` for gradient-flow runs, `epoch` for networks, else `step`.

This module imports neither numpy nor matplotlib at load time, so a bad file is reported fast;
`figure()` and `save()` import matplotlib (Agg backend) when a script gets to drawing.
"""
import json
import math
import os
import stat
import sys
import tempfile

RUN_COMMANDS = ("run", "net")
COMPARE_RUNS = ("network", "ufm", "ufm_from_network")
TOP = "top"  # the name of the top-level (penultimate-level) metrics of a checkpoint
SCRIPT = None  # set by each script's main(): the `plots/<script>.py` of its messages


class UfmError(Exception):
    """A file that cannot be used: `path` and a one-line reason."""

    def __init__(self, path, why):
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


def script_name():
    """`plots/<script>.py`, the prefix of every message."""
    return SCRIPT or "plots/" + os.path.basename(sys.argv[0] or "plots")


def fail(path, why, code=2):
    """Print `plots/<script>.py: error: <path>: <why>` (or without the path) and exit `code`."""
    where = f"{path}: " if path else ""
    print(f"{script_name()}: error: {where}{one_line(why)}", file=sys.stderr)
    sys.exit(code)


def warn(message):
    print(f"{script_name()}: warning: {one_line(message)}", file=sys.stderr)


def one_line(text):
    return " ".join(str(text).split())


# ---------------------------------------------------------------- reading files

def read_text(path):
    """The file's text, read whole: a regular file, or a pipe such as bash's `<(...)`, which ends with
    its writer. A device is refused before a byte is read (/dev/zero never ends: read whole, it took
    every byte of memory), as ufm-sim's own reader does (io/whole_file.hpp)."""
    if path == "":
        raise UfmError("''", "an empty path; give a ufm-sim output file")
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
                kind = ("a directory" if stat.S_ISDIR(mode) else
                        "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
                        "a socket" if stat.S_ISSOCK(mode) else "a special file")
                raise UfmError(path, f"{kind}, not a regular file or a pipe")
            data = f.read()
    except OSError as e:
        raise UfmError(path, (e.strerror or str(e)).lower()) from None
    if not data.strip():
        raise UfmError(path, "empty file, not a ufm-sim output")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UfmError(path, "not JSON (not UTF-8 text)") from None


def parse_lines(path, text):
    """JSONL records; a last line cut by a kill is dropped with a warning."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except RecursionError:  # Python's decoder recurses once per level: 1,000 levels end it
            raise UfmError(path, f"not a ufm-sim output (line {i + 1} nests too deeply)") from None
        except json.JSONDecodeError as e:
            if i == len(lines) - 1 and i > 0:
                warn(f"{path}: ignoring a cut last line {i + 1}")
                break
            raise UfmError(path, f"not JSON (line {i + 1}: {e.msg})") from None
    if not all(isinstance(r, dict) for r in records):
        raise UfmError(path, "not a ufm-sim output (a JSON line is not an object)")
    return records


def parse(path, text):
    """A JSON document (dict) or a list of JSONL records."""
    try:
        return json.loads(text)
    except RecursionError:
        raise UfmError(path, "not a ufm-sim output (it nests too deeply)") from None
    except json.JSONDecodeError as e:
        if "\n" not in text.strip():
            raise UfmError(path, f"not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    return parse_lines(path, text)


def load(path):
    """Read one ufm-sim output; raises UfmError."""
    data = parse(path, read_text(path))
    if isinstance(data, list):
        return from_records(path, data)
    if not isinstance(data, dict):
        raise UfmError(path, "not a ufm-sim output (JSON, but not an object)")
    return from_document(path, data)


def load_or_fail(path):
    """`load`, or the one-line error and exit 2."""
    try:
        return load(path)
    except UfmError as e:
        fail(e.path, e.why)


def from_document(path, doc):
    command = doc.get("command")
    if "ufm_sim_version" not in doc or command is None:
        raise UfmError(path, "not a ufm-sim output (no ufm_sim_version/command)")
    if command == "compare":
        runs = {k: doc[k] for k in COMPARE_RUNS if isinstance(doc.get(k), dict)}
        if not runs:
            raise UfmError(path, "a compare document without network/ufm runs")
        return {"kind": "compare", "path": path, "doc": doc, "runs": runs}
    if command in RUN_COMMANDS:
        if not isinstance(doc.get("trajectory"), list):
            raise UfmError(path, f"a '{command}' document without a trajectory")
        return {"kind": "run", "path": path, "doc": doc}
    if command in ("theory", "toy"):
        return {"kind": command, "path": path, "doc": doc}
    raise UfmError(path, f"not a ufm-sim output this reads (command '{command}')")


def from_records(path, records):
    if not records or records[0].get("type") != "header":
        raise UfmError(path, "not a ufm-sim output (JSONL without a header record first)")
    header = records[0]
    if "grid_hash" in header or "grid" in header:
        points = [r for r in records[1:] if r.get("type") == "point"]
        return {"kind": "sweep", "path": path, "header": header, "points": points}
    return {"kind": "run", "path": path, "doc": assemble_run(path, records)}


def assemble_run(path, records):
    """The document shape of a `--format jsonl` run: header fields, trajectory, end fields."""
    doc = {k: v for k, v in records[0].items() if k != "type"}
    if doc.get("command") not in RUN_COMMANDS:
        raise UfmError(path, "not a ufm-sim output (a JSONL header without a run/net command)")
    doc["trajectory"] = [strip_type(r) for r in records if r.get("type") == "checkpoint"]
    ends = [r for r in records if r.get("type") == "end"]
    if ends:
        doc.update(strip_type(ends[-1]))
    elif doc["trajectory"]:
        warn(f"{path}: no end record (a run still going or killed); using its last checkpoint")
        doc["final"] = doc["trajectory"][-1]
    return doc


def strip_type(record):
    return {k: v for k, v in record.items() if k != "type"}


# ---------------------------------------------------------------- runs and their checkpoints

def runs_of(loaded):
    """(label suffix, run document) pairs: one for a run, three for a compare document."""
    if loaded["kind"] == "run":
        return [("", loaded["doc"])]
    if loaded["kind"] == "compare":
        return list(loaded["runs"].items())
    return []


def load_runs(path, script_needs="a run"):
    """The run documents of a file, or the one-line error (sweeps and theory have none)."""
    loaded = load_or_fail(path)
    runs = runs_of(loaded)
    if loaded["kind"] == "toy":
        runs = [("", loaded["doc"])]
    if not runs:
        hint = ""
        if loaded["kind"] == "sweep":
            hint = " (keep the points' documents with `ufm-sim sweep --trajectories DIR`)"
        fail(path, f"a {loaded['kind']} output, not {script_needs}{hint}")
    return runs


def x_axis(doc):
    """(name, key) of a trajectory's x axis: time for flow runs, epoch for networks, else step."""
    traj = doc.get("trajectory") or [{}]
    last = traj[-1] if traj else {}
    if doc.get("command") == "toy":
        return "time", "t"
    dynamics = (doc.get("config") or {}).get("dynamics")
    if dynamics == "flow" and last.get("time") is not None:
        return "time", "time"
    if doc.get("command") == "net" and last.get("epoch") is not None:
        return "epoch", "epoch"
    return "step", "step"


def levels_of(doc):
    """The level names of a run's checkpoints (`H1`, `S1`, ... or `S1`, `S2`, ...), in order."""
    names = []
    for cp in doc.get("trajectory") or []:
        for name in (cp.get("levels") or {}):
            if name not in names:
                names.append(name)
    return names


def scope(cp, level=None, test=False):
    """The dict a metric is looked up in: the checkpoint, its `test`, and `levels[level]`."""
    if test:
        cp = cp.get("test")
        if not isinstance(cp, dict):
            return None
    if level in (None, TOP):
        return cp
    levels = cp.get("levels")
    return levels.get(level) if isinstance(levels, dict) else None


def has_metric(cp, name, level=None, test=False):
    where = scope(cp, level, test)
    return isinstance(where, dict) and name in where


def metric(cp, name, level=None, test=False):
    """A metric's value (None when null or absent) from a checkpoint's top level or a level."""
    where = scope(cp, level, test)
    return where.get(name) if isinstance(where, dict) else None


def number(value):
    """A finite float, or None (null, NaN, lists, strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def series(doc, name, level=None, test=False):
    """(xs, ys) lists of a metric along a trajectory; checkpoints where it is null are skipped."""
    _, key = x_axis(doc)
    xs, ys = [], []
    for cp in doc.get("trajectory") or []:
        x, y = number(cp.get(key)), number(metric(cp, name, level, test))
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    return xs, ys


def checkpoint_at(doc, index):
    """A trajectory's checkpoint by index (negative from the end)."""
    traj = doc.get("trajectory") or []
    if not traj:
        return doc.get("final")
    if not -len(traj) <= index < len(traj):
        raise IndexError(f"checkpoint {index} out of range: the trajectory has {len(traj)}")
    return traj[index]


# ---------------------------------------------------------------- sweeps

def point_result(point):
    """The dict a sweep point's metrics live in: `final` for run/net, `prediction` for theory."""
    for key in ("final", "prediction"):
        if isinstance(point.get(key), dict):
            return point[key]
    return {}


def axis_values(points):
    """{axis: sorted distinct values} over the points' `values`."""
    found = {}
    for p in points:
        for k, v in (p.get("values") or {}).items():
            found.setdefault(k, set()).add(v)
    return {k: sorted(v, key=sort_key) for k, v in found.items()}


def sort_key(v):
    return (0, v, "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0, str(v))


# ---------------------------------------------------------------- labels and figures

def labels_for(paths):
    """Short legend labels: the file names without extension, with it when those clash, the
    whole paths when even the names clash."""
    names = [os.path.basename(p) for p in paths]
    for labels in ([os.path.splitext(n)[0] for n in names], names):
        if len(set(labels)) == len(labels):
            return labels
    return list(paths)


def out_formats(out):
    """The formats to write: the one `out` names, plus those in $UFM_PLOTS_FORMATS (make_all)."""
    ext = os.path.splitext(out)[1].lower().lstrip(".")
    extra = [f.strip().lower() for f in os.environ.get("UFM_PLOTS_FORMATS", "").split(",")]
    return [ext] + [f for f in extra if f and f != ext]


def check_out(out):
    """Validate --out before any work: a .png, .pdf or .svg in an existing directory, and neither it
    nor a $UFM_PLOTS_FORMATS sibling anything but a regular file where it exists."""
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".pdf", ".svg"):
        fail(out, "--out must end in .png, .pdf or .svg")
    folder = os.path.dirname(out) or "."
    if not os.path.isdir(folder):
        fail(out, f"no such directory '{folder}'")
    for path in figure_paths(out):
        refuse_special(path)


def refuse_special(path):
    """fail() if `path` exists as anything but a regular file: a symlink, a device, a FIFO, a
    directory. A figure is never written through one (a symlink to /dev/null, or to someone's file)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        fail(path, "exists and is not a regular file (a symlink, device, FIFO or directory); "
                   "remove it or choose another --out")


def write_figure(fig, path, **savefig_kwargs):
    """fig.savefig(path) atomically: into a temporary file beside `path` (the umask's permissions),
    then renamed over it, so no reader sees half a figure and an interrupted run leaves the old one.
    The format is the extension's. Refused (fail(), status 2) where `path` is not a regular file."""
    refuse_special(path)
    folder = os.path.dirname(path) or "."
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    except OSError as e:
        fail(path, f"cannot write: {e.strerror or e}")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, **savefig_kwargs)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, (OSError, ValueError)):
            fail(path, f"cannot write: {e}")
        raise
    return path


def figure_paths(out):
    """The files `save` writes for `out`: itself, and its $UFM_PLOTS_FORMATS siblings."""
    stem = os.path.splitext(out)[0]
    return [out if out.lower().endswith("." + fmt) else f"{stem}.{fmt}" for fmt in out_formats(out)]


def figure(nrows=1, ncols=1, width=5.0, height=3.6, bottom=0.55, top=0.4):
    """A matplotlib Figure on the Agg canvas (no pyplot state) and its axes array.

    Margins are fixed, in inches (a layout engine would cost a second drawing pass): `bottom`
    below the last row, `top` above the first (room for a title; more with a suptitle)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    w, h = width * ncols, height * nrows
    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.8 / w, right=1 - 0.2 / w, bottom=bottom / h, top=1 - top / h,
                        wspace=1.1 * ncols / w, hspace=1.0 * nrows / h)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def colour_cycle():
    """The colours of matplotlib's default property cycle."""
    import matplotlib
    return [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]


def save(fig, out):
    """Write `out` (format from its extension) and the $UFM_PLOTS_FORMATS siblings, each atomically
    (write_figure); return the paths."""
    return [write_figure(fig, path, dpi=120) for path in figure_paths(out)]


def scale_for(values):
    """'log' when every value is > 0, 'symlog' when some are <= 0, 'linear' when none."""
    values = [v for v in values if v is not None]
    if not values:
        return "linear"
    return "log" if min(values) > 0 else "symlog"


def symlog_threshold(values):
    """A symlog linear range: the smallest nonzero |v|, at least 1e-3 x the largest."""
    mags = [abs(v) for v in values if v]
    if not mags:
        return 1.0
    return max(min(mags), 1e-3 * max(mags))


def set_scale(ax, axis, values):
    """Log or symlog scale on ax's 'x' or 'y' axis for these values."""
    kind = scale_for(values)
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if kind == "symlog":
        setter("symlog", linthresh=symlog_threshold(values))
    else:
        setter(kind)
    return kind


def spans_decades(values, decades=2.0):
    """True when the values are all > 0 and max/min reaches 10**decades (up to rounding:
    a logspace over exactly 2 decades counts)."""
    nums = [number(v) for v in values]
    if not nums or any(v is None or v <= 0 for v in nums):
        return False
    return max(nums) / min(nums) >= 10 ** decades * (1 - 1e-9)
