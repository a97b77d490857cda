#!/usr/bin/python3
"""ufm-sim versus PyTorch, side by side, in one invocation.

For every configuration (size x model x loss x threads) it runs, interleaved and `--repeats`
times, ufm-sim's GD step (bench/ufm-bench step), the hand-written PyTorch step
(bench/torch_ufm.py) and the autograd one (torch_ufm.py --autograd), and prints the median
steps/s of each, their ratios, the achieved GEMM rate and the fraction of this machine's limit
(FMA peak and memory bandwidth, measured by `ufm-bench limits` in the same run). Then the cost
of one checkpoint's metrics (one- and two-layer) against a GD step, one RK4 and one dopri5
stage against one gradient evaluation, the flow anchor (ufm-sim's gradient flow against scipy's
solve_ivp, bench/flow_anchor.py), the AVX2 code path's rows when build-bench-avx2 exists
(scripts/bench.sh builds it on an AVX-512 machine; both sides then run OpenBLAS's Haswell kernels,
as on an AVX2-only machine: other_isa), and (--scaling) time per step and peak memory against N
and d. Every table names the CPU and the vector ISA it ran.

Run with Debian's interpreter, after building ufm-bench
(cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DUFM_BUILD_BENCH=ON &&
 cmake --build build-bench --target ufm-bench):

    /usr/bin/python3 bench/compare.py                  # full table (about 15 minutes)
    /usr/bin/python3 bench/compare.py --quick          # 1 s per run, 1 repeat
    /usr/bin/python3 bench/compare.py --sizes paper --losses ce --threads 1
    /usr/bin/python3 bench/compare.py --avx2-only      # the AVX2 section alone (about 4 minutes)

Threads: ufm-sim gets OMP_NUM_THREADS=T; PyTorch gets OPENBLAS_NUM_THREADS=T with
`--threads 1` (torch's own intra-op threads only add contention; see torch_ufm.py's README).
The machine is shared: only ratios measured in the same run mean anything, and the load
average is printed with the table.
"""
import argparse
import datetime
import glob
import json
import math
import os
import platform
import stat
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SIZES = {  # name: (K, n, d)
    "small": (4, 10, 16),
    "medium": (10, 100, 64),
    "paper": (10, 500, 512),
    "large": (100, 100, 512),
}
# model: (layers, relu, sizes it runs at, layered). "2-layer linear" is the model as `ufm-sim run`
# evaluates it: end to end, through P = W₂W₁ (K×d), never forming W₁H₁; torch_ufm.py forms W₁H₁.
# "2-layer linear (layered)" times ufm-sim making torch_ufm.py's own products (ufm-bench --layered):
# the same algorithm on both sides.
MODELS = {
    "UFM": (1, False, ["small", "medium", "paper", "large"], False),
    "2-layer linear": (2, False, ["medium", "paper"], False),
    "2-layer linear (layered)": (2, False, ["medium", "paper"], True),
    "2-layer ReLU": (2, True, ["medium", "paper"], False),
}


def check_json_out(p, path):
    """argparse error (status 2) before any work unless `path` can take --json: its directory exists,
    and it is absent or a regular file (never a symlink, device, FIFO or directory)."""
    if path is None:
        return
    if not path:
        p.error("--json '': an empty path; give a file name")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        p.error(f"--json {path}: no such directory '{folder}'")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        p.error(f"--json {path}: exists and is not a regular file (a symlink, device, FIFO or directory)")


def write_json_atomically(path, obj):
    """json.dump(obj) into a temporary file beside `path`, then renamed over it (a reader never sees
    half of it; a killed run leaves the old file)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def run_json(cmd, env_extra):
    env = dict(os.environ)
    env.update(env_extra)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def common_args(K, n, d, loss, layers, relu, target):
    a = ["--K", str(K), "--n", str(n), "--d", str(d), "--loss", loss, "--layers", str(layers),
         "--lr", "0.1", "--lam", "5e-4", "--init", "0.1", "--steps", "0", "--target-time", str(target)]
    return a + (["--relu"] if relu else [])


def ufm_cmd(bench, threads, args):
    return [bench, "step", "--threads", str(threads)] + args, {"OMP_NUM_THREADS": str(threads)}


def torch_cmd(threads, args, autograd):
    cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_ufm.py"), "--threads", "1"] + args
    if autograd:
        cmd.append("--autograd")
    return cmd, {"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def fmt(x, digits=3):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def cpu_and_isa():
    """'AMD EPYC (AuthenticAMD family 26 model 2: Zen 5; L1d 48 KiB, L2 1 MiB, L3 32 MiB), AVX-512,
    2 cores' from /proc/cpuinfo and /sys: every table names the machine it was measured on. The model
    name alone does not tell Zen 3, 4 and 5 apart on these VMs, nor one Intel Xeon from another; the
    caches decide which flow vectors come from memory."""
    fields = {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "vendor_id", "cpu family", "model", "flags") and key not in fields:
                fields[key] = value.strip()
    except OSError:
        pass
    flags = set(fields.get("flags", "").split())
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    vendor, family = fields.get("vendor_id", "?"), fields.get("cpu family", "?")
    core = {("AuthenticAMD", "25"): ": Zen 3/4", ("AuthenticAMD", "26"): ": Zen 5"}.get((vendor, family), "")
    caches = []
    for index in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            level = open(f"{index}/level").read().strip()
            kind = open(f"{index}/type").read().strip()
            size = open(f"{index}/size").read().strip()
        except OSError:
            continue
        if kind != "Instruction" and size.endswith("K") and size[:-1].isdigit():
            kib = int(size[:-1])
            size = f"{kib // 1024} MiB" if kib >= 1024 and kib % 1024 == 0 else f"{kib} KiB"
            caches.append(f"L{level}{'d' if kind == 'Data' else ''} {size}")
    where = f"{vendor} family {family} model {fields.get('model', '?')}{core}"
    if caches:
        where += "; " + ", ".join(caches)
    return f"{fields.get('model name', 'unknown CPU')} ({where}), {isa}, {os.cpu_count()} cores"


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def agreement(sim, sizes, models, losses, steps, raw):
    """The same computation on both sides: from one initial state (ufm-sim --save-state),
    `steps` GD steps by ufm-sim and by each PyTorch formulation; prints F after the last step."""
    print(f"Agreement: F(θ_{steps}) after {steps} GD steps from the same initial state "
          "(ufm-sim --save-state, read by torch_ufm.py --init-state)\n")
    print("| size | model | loss | ufm-sim | torch manual | torch autograd | max relative difference |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            layers, relu, model_sizes, layered = MODELS[model]
            for size in sizes:
                if layered or size not in model_sizes or size in ("paper", "large"):  # small and medium suffice
                    continue
                K, n, d = SIZES[size]
                for loss in losses:
                    cfg = ["--classes", str(K), "--per-class", str(n), "--dim", str(d), "--loss", loss,
                           "--bias", "reg", "--lambda", "5e-4", "--dynamics", "gd", "--lr", "0.1",
                           "--quiet", "--num-checkpoints", "2"]
                    if layers == 2:
                        cfg += ["--layers", "2", "--width", str(d)] + (["--activation", "relu"] if relu else [])
                    state = os.path.join(tmp, f"{model}-{size}-{loss}".replace(" ", "_"))
                    subprocess.run([sim, *cfg, "--steps", "0", "--save-state", state, "--out", state + ".json"],
                                   check=True)
                    out = subprocess.run([sim, *cfg, "--steps", str(steps), "--init-state", state],
                                         check=True, capture_output=True, text=True).stdout
                    f_sim = json.loads(out)["final"]["objective"]
                    targs = ["--K", str(K), "--n", str(n), "--d", str(d), "--loss", loss, "--layers", str(layers),
                             "--lr", "0.1", "--lam", "5e-4", "--steps", str(steps), "--warmup", "0",
                             "--init-state", state] + (["--relu"] if relu else [])
                    f_torch = {}
                    for kind in ("manual", "autograd"):
                        cmd, env = torch_cmd(1, targs, kind == "autograd")
                        f_torch[kind] = run_json(cmd, env)["final_loss"]
                    diff = max(abs(f_sim - v) / abs(v) for v in f_torch.values())
                    raw["agreement"].append({"size": size, "model": model, "loss": loss, "steps": steps,
                                             "ufm_sim": f_sim, **f_torch, "max_relative_difference": diff})
                    print(f"| {size} (K={K} n={n} d={d}) | {model} | {loss} | {f_sim:.15g} | "
                          f"{f_torch['manual']:.15g} | {f_torch['autograd']:.15g} | {diff:.1e} |", flush=True)
    print()


def network(bench, threads_list, limits, epochs, repeats, raw):
    """The network row: seconds per Fashion-MNIST epoch of 784-512-512-10, batch 128, fp64, SGD
    with momentum 0.9, weight decay 5e-4 and lr 0.01 (the README study's; 0.05 diverges from
    ufm-sim's Kaiming init, which is sqrt(6) times PyTorch's default per layer), ufm-bench net
    against torch_mlp.py, interleaved."""
    print("| network | loss | threads | ufm-sim s/epoch | torch s/epoch | × torch | ufm GFLOP/s | % of FMA peak |")
    print("|---|---|---|---|---|---|---|---|")
    for t in threads_list:
        sim, torch_times, last = [], [], None
        for _ in range(repeats):
            rec = run_json([bench, "net", "--threads", str(t), "--epochs", str(epochs), "--lr", "0.01"],
                           {"OMP_NUM_THREADS": str(t)})
            sim.append(rec["sec_per_epoch"])
            last = rec
            raw["network"].append(rec)
            trec = run_json(["/usr/bin/python3", os.path.join(HERE, "torch_mlp.py"), "--threads", "1",
                             "--epochs", str(epochs), "--lr", "0.01"],
                            {"OPENBLAS_NUM_THREADS": str(t), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
            torch_times.append(trec["sec_per_epoch"])
            raw["network"].append(dict(trec, threads=t))
        s_sim, s_torch = statistics.median(sim), statistics.median(torch_times)
        gflops = last["gemm_flops_per_epoch"] / s_sim / 1e9
        pct = 100 * gflops / limits[t]["fma_peak_gflops"]
        dims = "-".join(str(x) for x in last["dims"])
        print(f"| {dims}, batch {last['batch']}, N={last['N']:,} | {last['loss']} | {t} | {s_sim:.2f} | "
              f"{s_torch:.2f} | {s_torch / s_sim:.2f} | {gflops:.1f} | {pct:.0f}% |", flush=True)
    print()


def flow_stages(bench, sizes, threads_list, target, raw, label="", env=None):
    """One RK4 stage and one dopri5 stage (time per gradient evaluation, ufm-sim's default
    tolerance 1e-10) against one gradient evaluation: the integrators should cost at most 1.15×
    the gradients they evaluate (issue 13). ratio < 1.15 meets it.

    The "alone" columns: the same stage with a gradient that costs only its own data movement
    (bench/memory_alone.hpp: same θ size, integrator and stage points, ∇F = λx), over one UFM
    evaluation, measured in the same call. That is the integrator's own work (Odeint's
    bookkeeping, forming each stage point from its sources, writing the slope and the kept state,
    dopri5's error norm) with nothing to hide it under; where it exceeds 1.15 the target is below
    what the stage's data movement costs on this machine. "points alone": forming the same flows'
    stage points from their sources and nothing else (flow_traffic.hpp, FormingAlone), over one UFM
    evaluation: the floor of that work at the speed this machine streams the sources.

    ufm-bench times the evaluation, the two stages and the memory-alone loops in three interleaved
    rounds and reports the medians of each round's own ratios (a VM's speed drifts between two
    loops timed one after the other)."""
    print("µs: medians over the interleaved rounds; ratios: medians of each round's own stage over its own "
          "evaluation (on a busy machine the two need not divide).\n")
    print(f"| size | threads | ISA | µs per gradient evaluation | µs per RK4 stage | RK4 / evaluation | "
          f"RK4 stage alone | RK4 points alone | µs per dopri5 stage | dopri5 / evaluation | dopri5 stage alone | "
          f"dopri5 points alone | ≤ 1.15 | alone > 1.15 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        K, n, d = SIZES[size]
        for t in threads_list:
            rec = run_json([bench, "flow", "--K", str(K), "--n", str(n), "--d", str(d), "--threads", str(t),
                            "--target-time", str(target)], dict(env or {}, OMP_NUM_THREADS=str(t)))
            raw["flow"].append(rec)
            r4, dp = rec["rk4_stage_over_evaluation"], rec["dopri5_stage_over_evaluation"]
            us_eval = rec["us_per_gradient_evaluation"]
            a4 = rec["rk4_stage_alone_over_evaluation"]
            adp = rec["dopri5_stage_alone_over_evaluation"]

            def which(rk4, dopri5):
                return "both" if rk4 and dopri5 else "RK4" if rk4 else "dopri5" if dopri5 else "no"
            print(f"| {size} (K={K} n={n} d={d}) | {t} | {rec.get('isa', '?')}{label} | "
                  f"{us_eval:.3g} | {rec['us_per_rk4_stage']:.3g} | {r4:.2f} | {a4:.2f} | "
                  f"{rec['rk4_points_alone_over_evaluation']:.2f} | "
                  f"{rec['us_per_dopri5_stage']:.3g} | {dp:.2f} | {adp:.2f} | "
                  f"{rec['dopri5_points_alone_over_evaluation']:.2f} | "
                  f"{which(r4 <= 1.15, dp <= 1.15)} | {which(a4 > 1.15, adp > 1.15)} |", flush=True)
    print()


def print_stream_overlap(lim):
    """ufm-bench limits' stream_under_fma (one thread): how much of a stream of reads from sources of
    θ's size at each flow size the core hides under a loop like the backward kernel's (1 = all of it,
    0 = it adds its whole time), bench/stream_overlap.hpp."""
    rows = lim.get("stream_under_fma")
    if not rows:
        return
    parts = [f"{r['size']} ({r['source_bytes'] / 1024:,.0f} KiB sources, alone {r['stream_alone_gbs']:.0f} GB/s) "
             f"{100 * r['hidden']:.0f}%" for r in rows]
    print("  one core, share of a stream of reads hidden under the gradient's FMA loop: " + "; ".join(parts))


# The environment of an AVX2-only machine for the AVX2 section: OpenBLAS's Haswell kernels, the ones
# 0.3.21 selects on Zen 2 and 3 and on AVX2 Intel cores. Debian's torch 1.13 dispatches its own kernels
# at AVX2 on every machine ("CPU capability usage: AVX2" in torch.__config__.show()), so OpenBLAS is
# the only part of PyTorch that runs AVX-512 here. On an AVX-512 VM that sets no OPENBLAS_CORETYPE,
# PyTorch's products run the Cooperlake or SkylakeX kernels, which no AVX2 machine gives it.
AVX2_MACHINE = {"OPENBLAS_CORETYPE": "Haswell"}


def other_isa(bench_other, threads_list, target, repeats, raw):
    """The AVX2 code path (a -march=x86-64-v3 build, scripts/bench.sh's build-bench-avx2) on this
    machine, as an AVX2-only machine would run it: both sides with OpenBLAS's Haswell kernels
    (AVX2_MACHINE). Its limits, the paper-size one-layer GD step against PyTorch manual (target
    >= 1.5x on both ISAs, judged against PyTorch on the same AVX2 kernels) and its flow stages.
    PyTorch with this machine's own OpenBLAS kernels is shown beside it, for what it is: a faster
    PyTorch than any AVX2 machine runs."""
    print("## The AVX2 code path on the same machine (x86-64-v3 build, as an AVX2-only machine)\n")
    here = os.environ.get("OPENBLAS_CORETYPE")
    here_label = f"OPENBLAS_CORETYPE={here}" if here else "the kernels OpenBLAS picks for this CPU"
    print(f"Both sides run with OPENBLAS_CORETYPE={AVX2_MACHINE['OPENBLAS_CORETYPE']}, the kernels OpenBLAS "
          "selects on an AVX2-only CPU (PyTorch's own kernels dispatch at AVX2 everywhere); \"torch manual "
          f"here\": PyTorch with {here_label}, which no AVX2 machine runs.\n")
    for t in threads_list:
        lim = run_json([bench_other, "limits", "--threads", str(t)], dict(AVX2_MACHINE, OMP_NUM_THREADS=str(t)))
        raw["limits"].append(dict(lim, build="avx2", env=AVX2_MACHINE))
        print(f"limits, {t} thread(s), {lim['isa']} build: FMA peak {lim['fma_peak_gflops']:.1f} GFLOP/s, "
              f"GEMM 512³ {lim['eigen_gemm_512_gflops']:.1f} GFLOP/s{own_gemm(lim)}, "
              f"triad {lim['triad_gbs']:.1f} GB/s")
        if lim["eigen_gemm_512_gflops"] > lim["fma_peak_gflops"]:
            print(f"  the BLAS's GEMM is above this build's {lim['isa']} peak: OpenBLAS chooses its kernels "
                  f"({blas_kernels(lim) or '?'}) at run time for this CPU, whatever the build's ISA; "
                  "ufm-sim's own code in this build is bound by the peak")
        print_stream_overlap(lim)
    print()
    print("| size | model | loss | threads | ISA | ufm-sim steps/s | torch manual, AVX2 kernels | × manual | ≥ 1.5 | "
          "torch manual here | × manual here |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    K, n, d = SIZES["paper"]
    for t in threads_list:
        args = common_args(K, n, d, "ce", 1, False, target)
        sim, man, man_here, isa = [], [], [], "?"
        for _ in range(repeats):
            cmd, env = ufm_cmd(bench_other, t, args)
            rec = run_json(cmd, dict(env, **AVX2_MACHINE))
            raw["steps"].append(dict(rec, build="avx2", env=AVX2_MACHINE))
            sim.append(rec["steps_per_s"])
            isa = rec.get("isa", "?")
            cmd, env = torch_cmd(t, args, False)
            trec = run_json(cmd, dict(env, **AVX2_MACHINE))
            raw["steps"].append(dict(trec, threads=t, env=AVX2_MACHINE))
            man.append(trec["steps_per_s"])
            man_here.append(run_json(cmd, env)["steps_per_s"])
        s, m, h = statistics.median(sim), statistics.median(man), statistics.median(man_here)
        print(f"| paper (K={K} n={n} d={d}) | UFM | ce | {t} | {isa} | {fmt(s)} | {fmt(m)} | {s / m:.2f} | "
              f"{'yes' if s / m >= 1.5 else 'no'} | {fmt(h)} | {s / h:.2f} |", flush=True)
    print()
    flow_stages(bench_other, ["paper"], threads_list, min(target, 3.0), raw, env=AVX2_MACHINE)


def blas_kernels(lim):
    """The BLAS's kernel family from limits' "blas" ("OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY
    SkylakeX MAX_THREADS=64 (1 thread)" -> "SkylakeX"), or "" if it does not say."""
    words = [w for w in lim.get("blas", "").split()
             if w not in ("OpenBLAS", "NO_LAPACKE", "DYNAMIC_ARCH", "NO_AFFINITY", "(1", "thread)")
             and not w[:1].isdigit() and "=" not in w]
    return " ".join(words)


def own_gemm(lim):
    """What follows the BLAS's 512³ rate in a limits line: " (BLAS, <its kernels>)", then ", own GEMM
    <rate>" where the build has its own kernel (ufm::gemm, AVX-512)."""
    kernels = blas_kernels(lim)
    text = f" (BLAS, {kernels} kernels)" if kernels else " (BLAS)"
    rate = lim.get("own_gemm_512_gflops")
    return text + (f", own GEMM {rate:.1f}" if rate else "")


def check_limits(raw, limits):
    """No measured rate may exceed the FMA peak: say so loudly if one does (the peak is wrong)."""
    for rec in raw["steps"]:
        t = rec.get("threads")
        rate = rec.get("gemm_gflops_achieved")
        if rec.get("impl") == "ufm-sim" and t in limits and rate and rate > limits[t]["fma_peak_gflops"]:
            print(f"WARNING: ufm-sim measured {rate:.1f} GFLOP/s above the FMA peak "
                  f"{limits[t]['fma_peak_gflops']:.1f} ({t} thread(s)): the peak measurement is wrong")
    for t, lim in limits.items():
        for key in ("eigen_gemm_512_gflops", "own_gemm_512_gflops"):
            if (lim.get(key) or 0.0) > lim["fma_peak_gflops"]:
                print(f"WARNING: {key} {lim[key]:.1f} GFLOP/s above the FMA peak "
                      f"{lim['fma_peak_gflops']:.1f} ({t} thread(s))")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    p.add_argument("--avx2-build-dir", default=os.path.join(ROOT, "build-bench-avx2"),
                   help="an -DUFM_MARCH=x86-64-v3 build: adds the AVX2 rows if it exists")
    p.add_argument("--sizes", default="small,medium,paper,large")
    p.add_argument("--models", default="UFM,2-layer linear,2-layer linear (layered),2-layer ReLU")
    p.add_argument("--losses", default="ce,mse")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--target-time", type=float, default=3.0, help="seconds per timed loop")
    p.add_argument("--repeats", type=int, default=2, help="interleaved repetitions (median)")
    p.add_argument("--quick", action="store_true", help="--target-time 1 --repeats 1")
    p.add_argument("--no-autograd", action="store_true")
    p.add_argument("--no-metrics", action="store_true")
    p.add_argument("--scaling", action="store_true", help="also time per step and memory vs N and d")
    p.add_argument("--no-check", action="store_true",
                   help="skip the agreement check (ufm-sim and both PyTorch steps from the same state)")
    p.add_argument("--check-steps", type=int, default=50)
    p.add_argument("--json", help="write every raw record to this file")
    p.add_argument("--network-only", action="store_true", help="only the network row (and the limits)")
    p.add_argument("--no-network", action="store_true", help="skip the network row")
    p.add_argument("--avx2-only", action="store_true",
                   help="only the AVX2 code path's section (needs --avx2-build-dir's ufm-bench)")
    p.add_argument("--network-epochs", type=int, default=2, help="timed epochs per network run (median)")
    p.add_argument("--no-anchor", action="store_true", help="skip the flow anchor (ufm-sim vs scipy solve_ivp)")
    p.add_argument("--anchor-time", type=float, default=100.0, help="flow anchor: final time T")
    p.add_argument("--anchor-tol", type=float, default=1e-8, help="flow anchor: rtol = atol")
    a = p.parse_args()
    if a.quick:
        a.target_time, a.repeats = 1.0, 1
    # Every list is checked before any work (argparse's p.error: the flag, the value, what is allowed, status 2).
    sizes, losses, models = a.sizes.split(","), a.losses.split(","), a.models.split(",")
    for flag, one, given, known in (("sizes", "size", sizes, SIZES), ("losses", "loss", losses, ("ce", "mse")),
                                    ("models", "model", models, MODELS)):
        for v in given:
            if v not in known:
                p.error(f"--{flag} {getattr(a, flag)}: unknown {one} {v!r} (known: {', '.join(known)})")
    try:
        threads_list = [int(t) for t in a.threads.split(",")]
    except ValueError:
        threads_list = []
    if not threads_list or min(threads_list) < 1:
        p.error(f"--threads {a.threads}: must be a comma-separated list of integers >= 1")
    for name, ok, what in (("target-time", a.target_time > 0 and math.isfinite(a.target_time), "finite and > 0"),
                           ("repeats", a.repeats >= 1, ">= 1"), ("check-steps", a.check_steps >= 1, ">= 1"),
                           ("network-epochs", a.network_epochs >= 1, ">= 1"),
                           ("anchor-time", a.anchor_time > 0 and math.isfinite(a.anchor_time), "finite and > 0"),
                           ("anchor-tol", 0 < a.anchor_tol < 1, "in (0, 1)")):
        if not ok:
            p.error(f"--{name} {getattr(a, name.replace('-', '_'))}: must be {what}")
    check_json_out(p, a.json)
    avx2 = os.path.join(a.avx2_build_dir, "bench", "ufm-bench")
    if a.avx2_only and not os.path.exists(avx2):
        p.error(f"--avx2-only: {avx2} not found; scripts/bench.sh builds it on an AVX-512 machine")
    bench = os.path.join(a.build_dir, "bench", "ufm-bench")
    if not a.avx2_only and not os.path.exists(bench):
        sys.exit(f"compare.py: {bench} not found; build it with -DUFM_BUILD_BENCH=ON (see the docstring)")
    raw = {"limits": [], "steps": [], "metrics": [], "scaling": [], "agreement": [], "network": [], "flow": [],
           "anchor": []}
    if a.network_only:
        a.no_check, a.no_metrics, models = True, True, []

    print(f"# ufm-sim vs PyTorch — {datetime.datetime.now().isoformat(timespec='seconds')}, "
          f"{platform.node()}, {cpu_and_isa()}, load average at start {loadavg()}")
    if a.avx2_only:
        other_isa(avx2, threads_list, a.target_time, a.repeats, raw)
        finish(a, raw)
        return
    if not a.no_check:
        sim = os.path.join(a.build_dir, "ufm-sim")
        if not os.path.exists(sim):
            sys.exit(f"compare.py: {sim} not found; build it (scripts/bench.sh does) or pass --no-check")
        agreement(sim, sizes, models, losses, a.check_steps, raw)
    limits = {}
    for t in threads_list:
        lim = run_json([bench, "limits", "--threads", str(t)], {"OMP_NUM_THREADS": str(t)})
        limits[t] = lim
        raw["limits"].append(lim)
        print(f"limits, {t} thread(s), {lim.get('isa', '?')} build: FMA peak {lim['fma_peak_gflops']:.1f} GFLOP/s, "
              f"GEMM 512³ {lim['eigen_gemm_512_gflops']:.1f} GFLOP/s{own_gemm(lim)}, "
              f"triad {lim['triad_gbs']:.1f} GB/s")
        print_stream_overlap(lim)
    print()
    if not a.no_network:
        network(bench, threads_list, limits, a.network_epochs, a.repeats, raw)
    if not models:
        a.scaling = False
    else:
        print("| size | model | loss | threads | ufm-sim steps/s | torch manual | torch autograd | × manual | "
          "× autograd | ufm GFLOP/s | % of limit | BLAS floor ms | × manual at the floor |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    over = []  # rows above 100% of their limit
    for model in models:
        layers, relu, model_sizes, layered = MODELS[model]
        for size in sizes:
            if size not in model_sizes:
                continue
            K, n, d = SIZES[size]
            for loss in losses:
                for t in threads_list:
                    args = common_args(K, n, d, loss, layers, relu, a.target_time)
                    runs = {"ufm": [], "manual": [], "autograd": []}
                    last = None
                    for _ in range(a.repeats):
                        rec = run_json(*ufm_cmd(bench, t, args + (["--layered"] if layered else [])))
                        runs["ufm"].append(rec["steps_per_s"])
                        last = rec
                        raw["steps"].append(rec)
                        for kind in (["manual"] if a.no_autograd else ["manual", "autograd"]):
                            trec = run_json(*torch_cmd(t, args, kind == "autograd"))
                            runs[kind].append(trec["steps_per_s"])
                            raw["steps"].append(dict(trec, threads=t))
                    med = {k: statistics.median(v) if v else None for k, v in runs.items()}
                    # Limit: the FMA peak for the GEMM flops, or the bandwidth for reading and
                    # writing theta once, whichever is slower. The bandwidth is the triad's over
                    # arrays of theta's size (ufm-bench step's triad_theta_gbs: from the cache that
                    # holds them), not memory's: a small theta never leaves L1 or L2.
                    lim = limits[t]
                    t_fma = last["gemm_flops_per_step"] / (lim["fma_peak_gflops"] * 1e9)
                    t_mem = 2 * last["param_bytes"] / (last.get("triad_theta_gbs", lim["triad_gbs"]) * 1e9)
                    bound = "fma" if t_fma >= t_mem else "mem"
                    pct = 100 * max(t_fma, t_mem) * med["ufm"]
                    gflops = last["gemm_flops_per_step"] * med["ufm"] / 1e9
                    x_man = med["ufm"] / med["manual"] if med["manual"] else None
                    # The BLAS floor (ufm-bench step: torch_ufm.py's products alone, same BLAS and
                    # threads): the best "× manual" a step making those products could reach.
                    floor_ms = last["us_blas_floor"] / 1e3
                    x_floor = 1e3 / (floor_ms * med["manual"]) if med["manual"] else None
                    x_auto = med["ufm"] / med["autograd"] if med["autograd"] else None
                    print(f"| {size} (K={K} n={n} d={d}) | {model} | {loss} | {t} | {fmt(med['ufm'])} | "
                          f"{fmt(med['manual'])} | {fmt(med['autograd'])} | {fmt(x_man, 2)} | {fmt(x_auto, 2)} | "
                          f"{gflops:.1f} | {pct:.0f}% ({bound}) | {floor_ms:.3g} | {fmt(x_floor, 2)} |", flush=True)
                    if pct > 100:
                        over.append(f"{size} {model} {loss} {t} thread(s): {pct:.0f}% of its {bound} bound")
    for line in over:
        print(f"WARNING: a step ran faster than its limit, so the limit is wrong: {line}")
    check_limits(raw, limits)
    if not a.no_metrics:
        print()
        print("One checkpoint's metrics (`ufm-bench checkpoint`: checkpoint_report itself, every metric and "
              "spectrum `ufm-sim run` writes, with the logits GD's evaluation hands it and what handing them "
              "costs that evaluation) against one GD step of the same model, one thread; target ≤ 3 steps. "
              "\"forming logits\": the same report forming the logits itself, as for a state observed on a "
              "stop request or on convergence.\n")
        print("| size | layers | ms per checkpoint | ms per GD step | GD steps per checkpoint | forming logits | "
              "without spectra | ≤ 3 |")
        print("|---|---|---|---|---|---|---|---|")
        for size in [s for s in sizes if s != "small"]:
            K, n, d = SIZES[size]
            for layers in (1, 2):
                rec = run_json([bench, "checkpoint", "--K", str(K), "--n", str(n), "--d", str(d), "--layers",
                                str(layers), "--threads", "1"], {"OMP_NUM_THREADS": "1"})
                raw["metrics"].append(rec)
                r = rec["checkpoint_over_gd_step"]
                print(f"| {size} (K={K} n={n} d={d}) | {layers} | {rec['ms_per_checkpoint']:.3g} | "
                      f"{rec['ms_per_gd_step']:.3g} | {r:.2g} | {rec['forming_logits_over_gd_step']:.2g} | "
                      f"{rec['without_spectra_over_gd_step']:.2g} | {'yes' if r <= 3 else 'no'} |", flush=True)
        print()
        flow_stages(bench, sizes, threads_list, min(a.target_time, 3.0), raw)
    if models and not a.no_anchor:
        sim = os.path.join(a.build_dir, "ufm-sim")
        anchor_sizes = [x for x in sizes if x in ("small", "medium", "paper")]
        if os.path.exists(sim) and anchor_sizes:
            import flow_anchor  # bench/flow_anchor.py: needs python3-scipy
            print()
            rs = flow_anchor.rows(sim, anchor_sizes, a.anchor_time, a.anchor_tol, 1, repeats=a.repeats,
                                  matched=not a.quick, log=lambda m: print(m, file=sys.stderr))
            raw["anchor"] = rs
            for line in flow_anchor.header_lines(rs, a.anchor_time, a.anchor_tol, 1, "ce", 5e-4, a.repeats):
                print(line)
            print()
            for line in flow_anchor.table_lines(rs):
                print(line)
            print()
    if models and os.path.exists(avx2) and os.path.realpath(avx2) != os.path.realpath(bench):
        print()
        other_isa(avx2, threads_list, a.target_time, a.repeats, raw)
    if a.scaling:
        print()
        print("| K | n | N | d | params | ms/step (1 thread) | µs per 1k samples | peak RSS MB | RSS / param bytes |")
        print("|---|---|---|---|---|---|---|---|---|")
        grid = [(10, N // 10, 64) for N in (1000, 10000, 100000)] + [(10, 1000, dd) for dd in (16, 64, 256, 1024)]
        for K, n, d in grid:
            args = common_args(K, n, d, "ce", 1, False, min(a.target_time, 2.0))
            rec = run_json(*ufm_cmd(bench, 1, args))
            raw["scaling"].append(rec)
            ms = rec["us_per_step"] / 1e3
            print(f"| {K} | {n} | {K * n} | {d} | {rec['num_params']:,} | {ms:.3g} | "
                  f"{1e3 * ms / (K * n / 1000):.3g} | {rec['max_rss_kb'] / 1024:.1f} | "
                  f"{rec['max_rss_kb'] * 1024 / rec['param_bytes']:.2f} |", flush=True)
    finish(a, raw)


def finish(a, raw):
    print(f"\nload average at end {loadavg()}")
    if a.json:
        write_json_atomically(a.json, raw)


if __name__ == "__main__":
    main()
