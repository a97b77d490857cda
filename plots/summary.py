#!/usr/bin/python3
"""Print a short table of a ufm-sim trajectory: how the objective and the NC metrics evolve.

usage: python3 plots/summary.py RUN.json [--rows 8]
Reads the JSON document written by `ufm-sim run` (or its --format jsonl stream).
"""
import argparse
import json
import sys


def load(path):
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # jsonl: header, checkpoints, end
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        doc = dict(records[0])
        doc["trajectory"] = [r for r in records if r.get("type") == "checkpoint"]
        doc.update(records[-1] if records[-1].get("type") == "end" else {})
        return doc


def fmt(x):
    return "null" if x is None else f"{x:.3e}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("path")
    p.add_argument("--rows", type=int, default=8, help="checkpoints to show (log-spread)")
    a = p.parse_args(argv)
    doc = load(a.path)
    traj = doc["trajectory"]
    cfg = doc["config"]
    print(f"ufm-sim {doc['ufm_sim_version']}: loss={cfg['loss']} bias={cfg['bias']} "
          f"K={cfg['classes']} n={cfg['per_class']} d={cfg['dim']} lambda={cfg['lambda']} "
          f"dynamics={cfg['dynamics']}")
    cols = ["step", "time", "objective", "nc1", "nc3", "etf_error_h", "accuracy"]
    print("  ".join(f"{c:>11}" for c in cols))
    idx = sorted({round(i * (len(traj) - 1) / max(1, a.rows - 1)) for i in range(a.rows)})
    for i in idx:
        row = traj[i]
        cells = [f"{row['step']:>11d}", f"{row['time']:>11.4g}"] + [f"{fmt(row.get(c)):>11}" for c in cols[2:]]
        print("  ".join(cells))
    t = doc.get("timing")  # where the wall time went (absent in documents of ufm-sim before it)
    spent = (f" (dynamics {t['dynamics_seconds']:.3f} s, {t['checkpoints']} checkpoints "
             f"{t['checkpoint_seconds']:.3f} s)" if t else "")
    print(f"status: {doc.get('status')} ({doc.get('message')}), wall {doc.get('wall_seconds', 0):.3f} s{spent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
