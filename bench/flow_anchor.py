#!/usr/bin/python3
"""The flow anchor: ufm-sim's gradient flow against scipy.integrate.solve_ivp on the same problem.

    /usr/bin/python3 bench/flow_anchor.py           # small, medium, paper; T = 100, tol 1e-8 (about 3 min)
    /usr/bin/python3 bench/flow_anchor.py --quick   # small + medium, T = 20, tol 1e-6 (about 15 s)
    /usr/bin/python3 bench/flow_anchor.py --sizes paper --time 100 --tol 1e-8 --ufm-sim /tmp/ufm-sim-snapshot

What is compared: the gradient flow dθ/dt = −∇F(θ) of the one-layer UFM (compare.py's sizes,
CE by default, bias mode reg, every λ = --lam), integrated from 0 to T from one initial state by
  - ufm-sim dopri5: `ufm-sim run --dynamics flow --integrator dopri5 --abs-tol tol --rel-tol tol`
  - ufm-sim dopri5 rms: the same with `--error-norm rms`: the step control on the root mean square
                    of the scaled errors, as scipy aggregates its own (see Tolerances below)
  - ufm-sim rk4:    `--integrator rk4 --dt h`, h chosen so that RK4's final-state error matches
                    dopri5's (below)
  - scipy RK45 and DOP853: bench/flow_ivp.py, i.e. solve_ivp(fun, (0, T), θ0, method, rtol=tol,
                    atol=tol), fun = −∇F from torch_ufm.py's closed-form ("manual") gradient.

Protocol, per size:
  1. the initial state: `ufm-sim run --dynamics gd --steps 0 --seed 0 --init-scale 0.1
     --save-state DIR` (the GD bench's init); every run below starts from DIR.
  2. F(θ0): flow_ivp.py's objective at DIR must equal ufm-sim's trajectory[0].objective to 1e-12
     relative (checked before the runs and again on every flow_ivp.py run; the anchor fails
     otherwise, and the largest difference is printed above the table): the same objective.
  3. a reference final state: ufm-sim dopri5 at tol/100 (floored at 1e-13). "error" below is
     ‖θ(T) − θ_ref(T)‖∞ / ‖θ_ref(T)‖∞ over θ = (H, W, b); the "vs dopri5" column is the same
     with ufm-sim dopri5's final state (at tol) in place of θ_ref.
  4. RK4's step: a pilot run with as many steps as dopri5 took, then h scaled by
     (error_dopri5 / error_pilot)^(1/4) (RK4's global error is O(h⁴)), rounded to T / integer.
  5. --repeats rounds, interleaved: ufm-sim dopri5 (max, rms), ufm-sim rk4, scipy RK45, scipy DOP853, each
     a fresh process, one thread; the table shows the fastest round of each. (ufm-sim runs that
     take under 0.25 s are run 5 times per round, under 0.02 s 10 times: their fixed costs
     dominate, see Timing.)
  6. error-matched scipy rows (not with --quick or --no-matched): a scipy method whose final
     error at tol is more than twice ufm-sim dopri5's runs again (--repeats times) at
     tol' = tol · error_dopri5 / error_scipy (global error is roughly proportional to tol), the
     equal-accuracy comparison; its actual error is in the table.

Timing. scipy: wall clock of the solve_ivp call only (flow_ivp.py, after an untimed warm-up
solve over (0, T/100)). ufm-sim: its JSON's timing.dynamics_seconds, the integration as ufm-sim
timed it, without the rest of wall_seconds (the process start, the output header and the two
checkpoints' full metric reports at t = 0 and T: about 2 ms at the small size and 0.2-2 s at the
paper size, printed above the table). That time still holds the process's one-off costs, which
scipy's warm-up keeps out of its own: the first touch of the heap and of the code's pages, about
0.35 ms at the small size (a first integration of 8 evaluations in a process took 0.43 ms, the
same again in that process 0.09). So every ufm-sim run is paired with the same command over a
negligible time (T·1e-6 for dopri5, one step h for rk4), which has the same one-off costs and a
handful of evaluations, and dynamics_seconds = one-off + evaluations × u is fitted through the two
points of each pair, run back to back; u is the median over all pairs of all rounds. Runs under
20 ms (the small size) are paired with the same integration at about 6× the evaluations instead
(dopri5 at tol/10⁴, RK4 at h/6): the same code per evaluation, thousands more of them. (Before
ufm-sim reported timing, the pairs were fitted on wall_seconds, whose fixed costs vary by about a
millisecond from process to process, as much as the small size's whole integration.) "wall s" of
ufm-sim is evaluations × u, the raw wall_seconds is shown next to it, and the speed-up computed
from the raw wall_seconds is given in brackets (the conservative number).
Evaluations: ufm-sim's summary.gradient_evaluations; scipy's nfev. "µs/eval" = wall / evaluations
(integrator work included); "gradient µs" = the bare gradient: for scipy the time inside fun per
call (flow_ivp.py measures it), for ufm-sim `ufm-bench flow`'s us_per_gradient_evaluation (when
the ufm-bench binary is found).

Tolerances are the same numbers but, by default, not the same norm: ufm-sim (Boost.Odeint) accepts
a step when max_i |err_i| / (atol + rtol (|x_i| + dt |dx_i|)) <= 1, scipy when the RMS over all
components of err_i / (atol + rtol max(|y_i|, |y_new_i|)) < 1. With many components the RMS is
the looser test, so scipy takes fewer, larger steps at the same tol and ends further from the
reference: read the speed-ups together with the "error" column. The "ufm-sim dopri5 rms" row
takes the RMS of its own ratios (`--error-norm rms`; Odeint's scale, not scipy's max(|y|, |y_new|)),
the like-for-like error control, and the "rms × faster" column compares scipy with it.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FLOW_IVP = os.path.join(HERE, "flow_ivp.py")
PYTHON = "/usr/bin/python3"
SCIPY_METHODS = ("RK45", "DOP853")
F0_TOL = 1e-12


def _compare():
    """bench/compare.py (sizes, cpu_and_isa, loadavg); imported lazily, compare.py may import us."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import compare
    return compare


class AnchorError(Exception):
    pass


def _run(cmd, threads, what):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise AnchorError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()}")
    return p.stdout


def _sim_json(path):
    with open(path) as f:
        return json.load(f)


def _theta(directory):
    """θ = (H, W, b) of a state directory, flattened in one fixed order."""
    return np.concatenate([np.load(os.path.join(directory, f + ".npy")).ravel(order="C")
                           for f in ("H", "W", "b")])


def _rel(a, b):
    """max|a − b| / max|b|."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _check_f0(size, init, loss, lam, f0_sim):
    """flow_ivp.py's objective at the initial state against ufm-sim's trajectory[0].objective."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import flow_ivp
    H, W, b, labels = flow_ivp.load_state(init)
    model = flow_ivp.Ufm(labels, W.shape[0], H.shape[0], loss, lam, "numpy")
    f0 = model.value(model.flatten(H, W, b))
    diff = abs(f0 - f0_sim) / abs(f0_sim)
    if not diff <= F0_TOL:
        raise AnchorError(f"{size}: F(θ0) differs: ufm-sim {f0_sim!r}, flow_ivp.py {f0!r} "
                          f"(relative {diff:.1e} > {F0_TOL:g}): not the same objective")
    return diff


def rows(sim, sizes=("small", "medium", "paper"), T=100.0, tol=1e-8, threads=1, loss="ce", lam=5e-4,
         repeats=2, bench="auto", matched=True, log=None, workdir=None):
    """Runs the anchor; returns one dict per (size, method) (see the module docstring).

    sim: the ufm-sim binary; bench: ufm-bench for ufm-sim's bare gradient cost ("auto": next to
    sim, else build-bench's; None: that column is left empty); matched: add the error-matched
    scipy rows; log: a callable for progress lines (e.g. print to stderr), or None. Print the
    result with header_lines(...) and table_lines(...).
    """
    sizes_table = _compare().SIZES
    for s in sizes:
        if s not in sizes_table:
            raise AnchorError(f"unknown size {s!r}; known: {', '.join(sizes_table)}")
    say = log or (lambda msg: None)
    if bench == "auto":
        bench = default_bench(sim)
    own_tmp = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="flow-anchor-")
    out = []
    try:
        for size in sizes:
            out += _size_rows(sim, bench, size, sizes_table[size], T, tol, threads, loss, lam, repeats, matched, say,
                              os.path.join(workdir, size))
    finally:
        if own_tmp:
            shutil.rmtree(workdir, ignore_errors=True)
    return out


def _size_rows(sim, bench, size, dims, T, tol, threads, loss, lam, repeats, matched, say, tmp):
    K, n, d = dims
    os.makedirs(tmp, exist_ok=True)
    model = ["--classes", str(K), "--per-class", str(n), "--dim", str(d), "--loss", loss, "--bias", "reg",
             "--lambda", repr(lam), "--quiet", "--num-checkpoints", "2"]
    init = os.path.join(tmp, "init")

    # 1. initial state
    _run([sim, "run", *model, "--dynamics", "gd", "--steps", "0", "--seed", "0", "--init-scale", "0.1",
          "--save-state", init, "--out", init + ".json"], threads, "ufm-sim (initial state)")

    def ufm_flow(tag, integrator_args, t_end=T, save=True):
        state, j = os.path.join(tmp, tag), os.path.join(tmp, tag + ".json")
        shutil.rmtree(state, ignore_errors=True)
        _run([sim, "run", *model, "--init-state", init, "--dynamics", "flow", *integrator_args, "--time", repr(t_end),
              *(["--save-state", state] if save else []), "--out", j], threads, f"ufm-sim ({tag})")
        doc = _sim_json(j)
        if doc["status"] not in ("max_time", "converged"):
            raise AnchorError(f"ufm-sim ({tag}) ended with status {doc['status']}: {doc['message']}")
        return {"wall_json_s": doc["wall_seconds"], "dynamics_s": doc["timing"]["dynamics_seconds"],
                "steps": doc["summary"]["steps"],
                "gradient_evaluations": doc["summary"]["gradient_evaluations"],
                "final_objective": doc["final"]["objective"], "initial_objective": doc["trajectory"][0]["objective"],
                "theta": _theta(state) if save else None}

    def dopri5(t):
        return ["--integrator", "dopri5", "--abs-tol", repr(t), "--rel-tol", repr(t)]

    def rk4(h):
        return ["--integrator", "rk4", "--dt", repr(h)]

    def scipy(method, tag, tol=tol):
        state = os.path.join(tmp, tag)
        rec = json.loads(_run([PYTHON, FLOW_IVP, "--init-state", init, "--loss", loss, "--lam", repr(lam),
                               "--time", repr(T), "--method", method, "--rtol", repr(tol), "--atol", repr(tol),
                               "--threads", str(threads), "--save-final", state],
                              threads, f"flow_ivp.py ({method})").strip().splitlines()[-1])
        if rec["status"] != 0:
            raise AnchorError(f"solve_ivp ({method}) failed: {rec['message']}")
        rec["theta"] = _theta(state)
        rec["tol"] = tol
        return rec

    # 2-4. reference, dopri5's error, RK4's step
    tol_ref = max(tol / 100, 1e-13)
    say(f"{size}: reference (ufm-sim dopri5, tol {tol_ref:g})")
    ref = ufm_flow("reference", dopri5(tol_ref))["theta"]
    say(f"{size}: ufm-sim dopri5, tol {tol:g}")
    first = ufm_flow("dopri5", dopri5(tol))
    _check_f0(size, init, loss, lam, first["initial_objective"])
    err_dopri5 = _rel(first["theta"], ref)
    steps0 = max(1, first["steps"])
    pilot = ufm_flow("rk4-pilot", rk4(T / steps0))
    err_pilot = _rel(pilot["theta"], ref)
    scale = (err_dopri5 / err_pilot) ** 0.25 if err_pilot > 0 and err_dopri5 > 0 else 1.0
    rk4_steps = max(1, math.ceil(steps0 / scale))
    h = T / rk4_steps
    say(f"{size}: rk4 pilot {steps0} steps, error {err_pilot:.1e} (dopri5 {err_dopri5:.1e}) -> {rk4_steps} steps")

    # 5. timed rounds, interleaved. Each ufm-sim run is paired with the same run over a negligible
    # time (one step), which has the same one-off costs (first touch of the heap and the code):
    # timing.dynamics_seconds = one-off + evaluations × u, u through the two points of each pair run
    # back to back, the median over all pairs.
    best, slopes = {}, {}

    def keep(table, label, rec, key):
        if label not in table or rec[key] < table[label][key]:
            table[label] = rec

    # ufm-sim runs of a few ms are dominated by their fixed costs: time those 5-10 times per round
    inner = 10 if first["wall_json_s"] < 0.02 else 5 if first["wall_json_s"] < 0.25 else 1
    # Under 20 ms the one-off costs are most of the integration, and a one-step twin left u uncertain
    # by a factor of 2-4. There the twin integrates the same T with about 6x the evaluations instead
    # (dopri5 at tol/10^4, RK4 at h/6): the same code per evaluation, thousands more of them.
    many = first["wall_json_s"] < 0.02

    def twin(tag, args, short_time, many_args):
        if many:
            return ufm_flow(tag + "-twin", many_args, T, save=False)
        return ufm_flow(tag + "-twin", args, short_time, save=False)
    labels = ("ufm-sim dopri5", "ufm-sim dopri5 rms", "ufm-sim rk4") + tuple(f"scipy {m}" for m in SCIPY_METHODS)
    rms = ["--error-norm", "rms"]
    for r in range(repeats):
        for label in labels:
            say(f"{size}: round {r + 1}/{repeats}, {label}")
            if label.startswith("scipy"):
                keep(best, label, scipy(label.split()[1], label.replace(" ", "-")), "wall_s")
                continue
            for i in range(inner):
                if label == "ufm-sim dopri5":
                    rec = first if r == i == 0 else ufm_flow("dopri5", dopri5(tol))
                    short = twin("dopri5", dopri5(tol), T * 1e-6, dopri5(tol * 1e-4))
                elif label == "ufm-sim dopri5 rms":
                    rec = ufm_flow("dopri5-rms", dopri5(tol) + rms)
                    short = twin("dopri5-rms", dopri5(tol) + rms, T * 1e-6, dopri5(tol * 1e-4) + rms)
                else:
                    rec = ufm_flow("rk4", rk4(h))
                    short = twin("rk4", rk4(h), h, rk4(h / 6))
                keep(best, label, rec, "wall_json_s")
                slopes.setdefault(label, []).append((rec["dynamics_s"] - short["dynamics_s"]) /
                                                    (rec["gradient_evaluations"] - short["gradient_evaluations"]))
    for label, us in slopes.items():  # ufm-sim: dynamics_seconds = one-off + evaluations × u, u from each pair
        rec = best[label]
        u = float(np.median(us))
        if not u > 0:  # the run's cost is below the timing noise of the one-off costs: keep its own time
            say(f"{size}: {label}: its runs are not slower than their twins; using its dynamics_seconds")
            u = rec["dynamics_s"] / rec["gradient_evaluations"]
        rec["fixed_s"] = rec["wall_json_s"] - rec["gradient_evaluations"] * u
        rec["wall_s"] = rec["gradient_evaluations"] * u

    # 6. error-matched scipy: where scipy at tol ended further from the reference than ufm-sim's
    # dopri5, once more at the tolerance that should give dopri5's error (error roughly ∝ tol)
    if matched:
        for m in SCIPY_METHODS:
            err = _rel(best[f"scipy {m}"]["theta"], ref)
            if not err > 2 * err_dopri5:  # already about as accurate
                continue
            tol_m = float(f"{max(tol * err_dopri5 / err, tol / 1e4, 1e-14):.2g}")
            label = f"scipy {m} (error-matched)"
            labels += (label,)
            for r in range(repeats):
                say(f"{size}: {label}, tol {tol_m:g}, round {r + 1}/{repeats}")
                keep(best, label, scipy(m, f"scipy-{m}-matched", tol_m), "wall_s")

    us_grad_sim = None
    if bench and os.path.exists(bench):
        fl = json.loads(_run([bench, "flow", "--K", str(K), "--n", str(n), "--d", str(d), "--loss", loss,
                              "--threads", str(threads), "--target-time", "0.5"], threads, "ufm-bench flow"))
        us_grad_sim = fl["us_per_gradient_evaluation"]

    base = best["ufm-sim dopri5"]
    base_rms = best["ufm-sim dopri5 rms"]
    base_theta = base["theta"]
    f0_sim = base["initial_objective"]
    rows_out = []
    for label in labels:
        rec = best[label]
        row = {"size": size, "K": K, "n": n, "d": d, "num_params": int(base_theta.size), "loss": loss, "lam": lam,
               "T": T, "tol": tol, "threads": threads, "method": label,
               "steps": rec["steps"], "gradient_evaluations": rec["gradient_evaluations"],
               "final_objective": rec["final_objective"],
               "error_vs_reference": _rel(rec["theta"], ref), "reference_tol": tol_ref,
               "diff_vs_ufm_dopri5": _rel(rec["theta"], base_theta)}
        if label.startswith("ufm"):
            row["wall_json_s"] = rec["wall_json_s"]
            row["fixed_s"] = rec["fixed_s"]
            row["wall_s"] = rec["wall_s"]
            row["us_per_gradient"] = us_grad_sim
            if label.endswith("rk4"):
                row["rk4_dt"] = h
        else:
            row["wall_s"] = rec["wall_s"]
            row["wall_json_s"] = None
            row["us_per_gradient"] = rec["us_per_fun_call"]
            row["rejected_steps"] = rec["rejected_steps"]
            row["backend"] = rec["backend"]
            row["scipy_tol"] = rec["tol"]
            f0 = rec["initial_objective"]
            row["f0_rel_diff"] = abs(f0 - f0_sim) / abs(f0_sim)
            row["speedup_dopri5"] = rec["wall_s"] / base["wall_s"]
            row["speedup_dopri5_raw"] = rec["wall_s"] / base["wall_json_s"]
            row["speedup_dopri5_rms"] = rec["wall_s"] / base_rms["wall_s"]
            row["speedup_dopri5_rms_raw"] = rec["wall_s"] / base_rms["wall_json_s"]
            if row["f0_rel_diff"] > F0_TOL:
                raise AnchorError(f"{size}: F(θ0) differs: ufm-sim {f0_sim!r}, flow_ivp.py {f0!r} "
                                  f"(relative {row['f0_rel_diff']:.1e} > {F0_TOL:g}): not the same objective")
        row["us_per_evaluation"] = 1e6 * row["wall_s"] / row["gradient_evaluations"]
        rows_out.append(row)
    return rows_out


def _g(x, digits=3):
    if x is None:
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def table_lines(rs):
    """The markdown table of rows(...)."""
    lines = ["| size | method | wall s | ufm-sim wall_seconds (2 checkpoints) | accepted steps | "
             "gradient evaluations | µs/eval | gradient µs | ufm-sim dopri5 × faster (raw) | "
             "ufm-sim dopri5 rms × faster (raw) | ‖θ − θ_dopri5‖∞ / ‖θ_dopri5‖∞ | error ‖θ − θ_ref‖∞ / ‖θ_ref‖∞ |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rs:
        method = r["method"] + (f", dt {r['rk4_dt']:.3g}" if "rk4_dt" in r else "")
        if "matched" in method:
            method = method.replace("(error-matched)", f"at tol {r['scipy_tol']:.2g} (error-matched)")
        steps = f"{r['steps']}" + (f" (+{r['rejected_steps']:.0f} rejected)" if r.get("rejected_steps") else "")
        speed = (f"{r['speedup_dopri5']:.2f} ({r['speedup_dopri5_raw']:.2f})" if "speedup_dopri5" in r else "–")
        speed_rms = (f"{r['speedup_dopri5_rms']:.2f} ({r['speedup_dopri5_rms_raw']:.2f})"
                     if "speedup_dopri5_rms" in r else "–")
        diff = "–" if r["method"] == "ufm-sim dopri5" else f"{r['diff_vs_ufm_dopri5']:.1e}"
        lines.append(f"| {r['size']} (K={r['K']} n={r['n']} d={r['d']}) | {method} | {_g(r['wall_s'])} | "
                     f"{_g(r['wall_json_s'])} | {steps} | {r['gradient_evaluations']} | "
                     f"{_g(r['us_per_evaluation'])} | {_g(r['us_per_gradient'])} | {speed} | {speed_rms} | {diff} | "
                     f"{r['error_vs_reference']:.1e} |")
    return lines


def header_lines(rs, T, tol, threads, loss, lam, repeats):
    c = _compare()
    f0 = [r["f0_rel_diff"] for r in rs if "f0_rel_diff" in r]
    ck = {r["size"]: r["fixed_s"] for r in rs if r["method"] == "ufm-sim dopri5"}
    return [
        f"Gradient flow, ufm-sim vs scipy solve_ivp — {c.cpu_and_isa()}, load average {c.loadavg()}",
        f"one-layer UFM, {loss}, bias reg, λ = {lam:g}; t ∈ [0, {T:g}]; rtol = atol = {tol:g}; {threads} thread(s); "
        f"fastest of {repeats} interleaved round(s); scipy's gradient: "
        f"{', '.join(sorted({r['backend'] for r in rs if 'backend' in r}))} (flow_ivp.py).",
        f"F(θ0) agreement flow_ivp.py vs ufm-sim: max relative difference {max(f0) if f0 else float('nan'):.1e} "
        f"(limit {F0_TOL:g}). ufm-sim 'wall s' = evaluations × the cost of one, fitted on its JSON's "
        f"timing.dynamics_seconds against a one-step run, or under 20 ms a run with about 6× the evaluations "
        f"(see the docstring); the rest of its wall_seconds is fixed (start, header, the two checkpoints' "
        f"metrics, first touch of memory; dopri5: "
        f"{', '.join(f'{k} {1e3 * v:.3g} ms' for k, v in ck.items())}); "
        "speed-up from the raw wall_seconds in brackets.",
        f"error vs reference: ufm-sim dopri5 at tol {rs[0]['reference_tol']:g}; tolerances are equal numbers in "
        "different norms (ufm-sim dopri5: max norm, its rms row and scipy: RMS), see the docstring.",
    ]


def default_bench(sim):
    for cand in (os.path.join(os.path.dirname(os.path.abspath(sim)), "bench", "ufm-bench"),
                 os.path.join(ROOT, "build-bench", "bench", "ufm-bench")):
        if os.path.exists(cand):
            return cand
    return None


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2
        print(f"flow_anchor.py: error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    p = _Parser(prog="flow_anchor.py", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default=None, help="comma-separated names of compare.py's sizes "
                                                 "(default small,medium,paper; --quick: small,medium)")
    p.add_argument("--time", type=float, default=None, help="final time T (default 100; --quick: 20)")
    p.add_argument("--tol", type=float, default=None,
                   help="rtol = atol of every integrator (default 1e-8; --quick: 1e-6)")
    p.add_argument("--loss", choices=["ce", "mse"], default="ce")
    p.add_argument("--lam", type=float, default=5e-4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=None,
                   help="interleaved rounds, fastest kept (default 2; --quick: 1)")
    p.add_argument("--ufm-sim", default=os.path.join(ROOT, "build-bench", "ufm-sim"))
    p.add_argument("--ufm-bench", default=None, help="for ufm-sim's bare gradient cost (default: next to --ufm-sim, "
                                                      "else build-bench/bench/ufm-bench; 'none' to skip)")
    p.add_argument("--quick", action="store_true", help="smoke test: small + medium, T = 20, tol 1e-6, 1 round")
    p.add_argument("--no-matched", dest="matched", action="store_false",
                   help="skip the error-matched scipy rows (on by default, off with --quick)")
    p.add_argument("--json", help="write the rows to this file")
    a = p.parse_args(argv)
    a.sizes = (a.sizes or ("small,medium" if a.quick else "small,medium,paper")).split(",")
    a.time = a.time if a.time is not None else (20.0 if a.quick else 100.0)
    a.tol = a.tol if a.tol is not None else (1e-6 if a.quick else 1e-8)
    a.repeats = a.repeats if a.repeats is not None else (1 if a.quick else 2)
    a.matched = a.matched and not a.quick
    sizes_table = _compare().SIZES
    _compare().check_json_out(p, a.json)
    for s in a.sizes:
        if s not in sizes_table:
            p.error(f"--sizes {','.join(a.sizes)}: unknown size {s!r} (known: {', '.join(sizes_table)})")
    for name, ok, what in (("time", a.time > 0 and math.isfinite(a.time), "finite and > 0"),
                           ("tol", 0 < a.tol < 1, "in (0, 1)"), ("lam", a.lam >= 0, ">= 0"),
                           ("threads", a.threads >= 1, ">= 1"), ("repeats", a.repeats >= 1, ">= 1")):
        if not ok:
            p.error(f"--{name} {getattr(a, name)}: must be {what}")
    if not (os.path.isfile(a.ufm_sim) and os.access(a.ufm_sim, os.X_OK)):
        p.error(f"--ufm-sim {a.ufm_sim}: not an executable file (build it: cmake --build build-bench --target ufm-sim)")
    bench = None if a.ufm_bench == "none" else (a.ufm_bench or default_bench(a.ufm_sim))
    if a.ufm_bench not in (None, "none") and not os.path.isfile(a.ufm_bench):
        p.error(f"--ufm-bench {a.ufm_bench}: not a file")
    t0 = time.perf_counter()
    try:
        rs = rows(a.ufm_sim, a.sizes, a.time, a.tol, a.threads, a.loss, a.lam, a.repeats, bench, a.matched,
                  log=lambda m: print(f"[{time.perf_counter() - t0:6.1f} s] {m}", file=sys.stderr, flush=True))
    except AnchorError as e:
        print(f"flow_anchor.py: {e}", file=sys.stderr)
        return 1
    for line in header_lines(rs, a.time, a.tol, a.threads, a.loss, a.lam, a.repeats):
        print(line)
    print()
    for line in table_lines(rs):
        print(line)
    if a.json:
        _compare().write_json_atomically(a.json, rs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
