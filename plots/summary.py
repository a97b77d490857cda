#!/usr/bin/python3
"""Print a short table of a ufm-sim trajectory: how the objective and the NC metrics evolve.

usage: python3 plots/summary.py RUN.json [--rows 8]
Reads the JSON document written by `ufm-sim run` or `net` (or its --format jsonl stream), or each run
of a `compare` document, through ufm_io (a bad file: one line on stderr and status 2).
"""
import argparse
import os
import sys

if __package__:
    from . import ufm_io
else:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import ufm_io


def fmt(x):
    return "null" if x is None else f"{x:.3e}" if isinstance(x, (int, float)) else str(x)


def main(argv=None):
    p = argparse.ArgumentParser(prog="plots/summary.py", description=__doc__.split("\n")[0])
    p.add_argument("path")
    p.add_argument("--rows", type=int, default=8, help="checkpoints to show (log-spread; >= 1)")
    a = p.parse_args(argv)
    ufm_io.SCRIPT = "plots/summary.py"
    if a.rows < 1:
        p.error(f"--rows {a.rows}: must be >= 1")
    # Any ufm-sim output the plots read (a bad file: one line and status 2); a compare document
    # prints each of its runs.
    for label, doc in ufm_io.load_runs(a.path, "a run"):
        summarize(doc, a.rows, label)
    return 0


def summarize(doc, rows, label=""):
    traj = doc.get("trajectory") or []
    cfg = doc.get("config") or {}
    settings = " ".join(f"{name}={cfg[key]}" for name, key in
                        (("loss", "loss"), ("bias", "bias"), ("K", "classes"), ("n", "per_class"), ("d", "dim"),
                         ("lambda", "lambda"), ("dynamics", "dynamics")) if cfg.get(key) is not None)
    print(f"{label + ': ' if label else ''}ufm-sim {doc.get('ufm_sim_version', '?')}: {settings}")
    cols = ["step", "time", "objective", "nc1", "nc3", "etf_error_h", "accuracy"]
    print("  ".join(f"{c:>11}" for c in cols))
    idx = sorted({round(i * (len(traj) - 1) / max(1, rows - 1)) for i in range(rows)}) if traj else []
    for i in idx:
        print("  ".join(cell(traj[i], c) for c in cols))
    if not traj:
        print("(no checkpoints)")
    t = doc.get("timing") or {}  # where the wall time went (absent in documents of ufm-sim before it)
    spent = (f" (dynamics {t['dynamics_seconds']:.3f} s, {t['checkpoints']} checkpoints "
             f"{t['checkpoint_seconds']:.3f} s)"
             if all(k in t for k in ("dynamics_seconds", "checkpoints", "checkpoint_seconds")) else "")
    print(f"status: {doc.get('status')} ({doc.get('message')}), wall {doc.get('wall_seconds') or 0:.3f} s{spent}")


def cell(row, column):
    """One right-aligned cell: the step as an integer, the time to 4 digits, a metric as fmt does."""
    v = row.get(column)
    if column == "step" and isinstance(v, int):
        return f"{v:>11d}"
    if column == "time" and isinstance(v, (int, float)):
        return f"{v:>11.4g}"
    return f"{fmt(v):>11}"


if __name__ == "__main__":
    sys.exit(main())
