#!/usr/bin/python3
"""Run every experiments/<study>/figures.py and report which succeeded.

The studies follow one convention: `experiments/<study>/run.sh` writes its results to
`experiments/<study>/results/` and `figures.py DIR [--out FIGDIR]` draws them (to DIR/figures by
default), as PNG and PDF. So each figures.py is run as

    <python> figures.py <study>/<results>          (when that directory exists)
    <python> figures.py                            (when it does not)

with --results naming the directory (default `results`; `results/quick` for quick runs), one
study after another, with:

  - the working directory: the study's directory (experiments/<study>/);
  - PYTHONPATH: plots/ and the repository root before any inherited entries, so a figures.py can
    use these modules (`import trajectory, ufm_io` or `from plots import heatmap`) and call their
    main([...]);
  - MPLBACKEND=Agg, and UFM_PLOTS_FORMATS=png,pdf: every figure saved through ufm_io.save() is
    written both as PNG and as PDF, whatever extension its --out names.

A study fails when its figures.py exits nonzero or runs longer than --timeout seconds; the last
lines of its stderr are shown (with a hint when it had no results directory). Exit status: 0 when
every study succeeded (or there is none), 1 when any failed, 2 when --experiments is not a
directory or --only names no study.

example: plots/make_all.py --experiments experiments --results results
"""
import argparse
import os
import subprocess
import sys
import time

PLOTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(PLOTS)
TAIL_LINES = 8


def parse_args(argv):
    p = argparse.ArgumentParser(prog="plots/make_all.py", description=__doc__.split("\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiments", default=None, metavar="DIR",
                   help="the folder of studies (default: experiments/ of this repository)")
    p.add_argument("--results", default="results", metavar="SUBDIR",
                   help="the results directory inside each study, passed to figures.py when it "
                        "exists (default %(default)s)")
    p.add_argument("--only", action="append", default=[], metavar="STUDY",
                   help="run just this study (repeatable)")
    p.add_argument("--python", default="/usr/bin/python3", help="the interpreter (default %(default)s)")
    p.add_argument("--formats", default="png,pdf", help="figure formats (default %(default)s)")
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed per study")
    p.add_argument("--list", action="store_true", help="list the figures.py found, run nothing")
    return p.parse_args(argv)


def discover(folder, only):
    """Sorted (study, path) of every <folder>/<study>/figures.py."""
    found = []
    for study in sorted(os.listdir(folder)):
        path = os.path.join(folder, study, "figures.py")
        if os.path.isfile(path) and (not only or study in only):
            found.append((study, path))
    return found


def environment(formats):
    env = dict(os.environ)
    paths = [PLOTS, REPO] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["MPLBACKEND"] = "Agg"
    env["UFM_PLOTS_FORMATS"] = formats
    return env


def command(path, args):
    """The command line of one figures.py, and whether its results directory exists."""
    results = os.path.join(os.path.dirname(os.path.abspath(path)), args.results)
    if os.path.isdir(results):
        return [args.python, os.path.basename(path), results], True
    return [args.python, os.path.basename(path)], False


def run_study(path, args, env):
    """(ok, seconds, message) of one figures.py."""
    cmd, has_results = command(path, args)
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=os.path.dirname(path),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, errors="replace", timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - start, f"timed out after {args.timeout:g} s"
    except OSError as e:
        return False, time.monotonic() - start, f"cannot run {args.python}: {e.strerror}"
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-TAIL_LINES:])
        hint = "" if has_results else f" (no {args.results}/ directory: run the study first?)"
        return False, seconds, f"exit status {proc.returncode}{hint}\n{indent(tail)}"
    return True, seconds, ""


def indent(text):
    return "\n".join("      " + line for line in text.splitlines())


def studies_or_exit(args):
    """The (study, path) list to run, or an exit status when there is nothing to run."""
    folder = args.experiments or os.path.join(REPO, "experiments")
    if not os.path.isdir(folder):
        if args.experiments is None:
            print(f"plots/make_all.py: no {folder}: no studies to run")
            return 0
        print(f"plots/make_all.py: error: {folder}: not a directory", file=sys.stderr)
        return 2
    studies = discover(folder, set(args.only))
    unknown = set(args.only) - {study for study, _ in studies}
    if unknown:
        print(f"plots/make_all.py: error: {folder}: no figures.py for {', '.join(sorted(unknown))}",
              file=sys.stderr)
        return 2
    if not studies:
        print(f"plots/make_all.py: no {folder}/*/figures.py found")
        return 0
    return studies


def main(argv=None):
    args = parse_args(argv)
    studies = studies_or_exit(args)
    if isinstance(studies, int):
        return studies
    if args.list:
        print("\n".join(path for _, path in studies))
        return 0
    env = environment(args.formats)
    failed = []
    for study, path in studies:
        ok, seconds, message = run_study(path, args, env)
        print(f"{'ok    ' if ok else 'FAILED'} {study} ({seconds:.1f} s)"
              + (f": {message}" if message else ""), flush=True)
        if not ok:
            failed.append(study)
    print(f"plots/make_all.py: {len(studies) - len(failed)}/{len(studies)} studies succeeded"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
