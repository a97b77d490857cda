#!/usr/bin/python3
"""Gradient flow of the one-layer UFM with scipy.integrate.solve_ivp: the anchor for ufm-sim's flow.

Run with Debian's interpreter (it has numpy, scipy and torch):

    /usr/bin/python3 bench/flow_ivp.py --init-state DIR --loss ce --lam 5e-4 --time 20 \\
        --method DOP853 --rtol 1e-8 --atol 1e-8 [--threads 1] [--backend torch|numpy] [--save-final OUT]

What it integrates: dθ/dt = −∇F(θ), θ = (H, W, b) flattened, from the state DIR written by
`ufm-sim run ... --save-state DIR` (H.npy d×N, W.npy K×d, b.npy K, labels.npy N), with the
objective of torch_ufm.py and of `ufm-sim run --bias reg --lambda LAM`:

    Z = W H + b 1ᵀ
    F = data(Z) + LAM/2 (‖H‖² + ‖W‖² + ‖b‖²)
    ce : data = (1/N) Σᵢ −log softmax(Z[:, i])[yᵢ]          G = softmax(Z) − Y
    mse: data = (1/(2N)) ‖Z − Y‖²                            G = Z − Y
    ∇W F = G Hᵀ/N + LAM W,   ∇H F = Wᵀ G/N + LAM H,   ∇b F = G 1/N + LAM b

These are torch_ufm.py's "manual" closed-form gradients. torch_ufm.py fuses them into its GD
update (θ ← θ − lr ∇F in place), so there is no gradient function to import from it; the same
formulas are written here twice, as a researcher would: `torch` (double, torch.addmm into the
output buffer with the weight decay in addmm's beta, like torch_ufm.py) and `numpy`
(np.matmul). `--backend auto` (default) takes the faster one as measured here, one thread, per
call of fun: numpy below 20,000 parameters (compare.py's small size, 708 parameters: numpy
about 20 µs, torch 26 µs, torch's per-op overhead), torch above (medium, 64,650: torch 250 µs,
numpy 450-3,400 µs; paper, 2.6 M: torch 10.5 ms, numpy 12.6-34 ms). numpy's range is glibc's
allocator: its temporaries of θ's size are returned to the kernel and faulted in again on every
call unless the heap happens to keep them (450 µs at medium with GLIBC_TUNABLES raising the mmap
and trim thresholds, 2,800 µs without); torch's stayed at 250 µs either way.

solve_ivp is called exactly as a researcher would call it: solve_ivp(fun, (0, T), θ0,
method=..., rtol=..., atol=...), dense output off, t_eval None. fun returns a new array per
call (scipy keeps references to returned derivatives, so a reused buffer would be wrong).
Timed: the wall clock (perf_counter) of that solve_ivp call only, after an untimed warm-up
solve_ivp over (0, T/100) (first BLAS / torch calls, the allocator's first blocks of θ's size;
--no-warmup skips it); the time spent inside fun is also accumulated, so the integrator's own
share is wall − fun. Reported counts: accepted steps = len(sol.t) − 1, gradient evaluations =
sol.nfev (it includes the initial derivative and the one evaluation of scipy's initial step
selection), trial steps = (nfev − 2) / evaluations per trial (RK45: 6, DOP853: 12; both FSAL)
and rejected = trial − accepted.

BLAS threads: OPENBLAS/OMP/MKL_NUM_THREADS are set to --threads before numpy loads (as in
torch_ufm.py), and torch.set_num_threads(--threads).

Output: one JSON line on stdout. --save-final OUT writes the final H, W, b, labels as .npy
(same layout as ufm-sim's --save-state). Bad input exits 2 with one line naming the option.
"""
import argparse
import json
import os
import sys
import time


from blas_threads import pin_blas_threads  # noqa: E402  (bench/, the script's own directory)

if __name__ == "__main__":
    pin_blas_threads(sys.argv[1:])

import numpy as np  # noqa: E402

PROG = "flow_ivp.py"
EVALS_PER_TRIAL = {"RK45": 6, "DOP853": 12}
AUTO_NUMPY_BELOW = 20000  # parameters; --backend auto picks the faster side of this (see the docstring)


class InputError(Exception):
    """A bad option value: `option`, `value`, and what is wrong."""

    def __init__(self, option, value, what):
        super().__init__(f"{option} {value}: {what}")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would also print the usage)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(2)


def parse_args(argv=None):
    p = _Parser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--init-state", required=True, metavar="DIR", help="ufm-sim --save-state directory")
    p.add_argument("--loss", choices=["ce", "mse"], default="ce")
    p.add_argument("--lam", type=float, default=5e-4, help="weight decay of H, W and b (bias mode reg)")
    p.add_argument("--time", type=float, required=True, help="final time T")
    p.add_argument("--method", choices=sorted(EVALS_PER_TRIAL), default="DOP853")
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-8)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--backend", choices=["auto", "torch", "numpy"], default="auto",
                   help="who computes the gradient (auto: numpy below 20,000 parameters, else torch)")
    p.add_argument("--save-final", metavar="DIR", help="write the final state here (.npy files)")
    p.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="skip the untimed solve_ivp over (0, T/100) that runs first")
    a = p.parse_args(argv)
    for name, ok, what in (("lam", a.lam >= 0, ">= 0"), ("time", a.time > 0, "> 0"),
                           ("rtol", a.rtol > 0, "> 0"), ("atol", a.atol > 0, "> 0"),
                           ("threads", a.threads >= 1, ">= 1")):
        if not ok or not np.isfinite(getattr(a, name)):
            p.error(f"--{name} {getattr(a, name)}: must be finite and {what}")
    return a


def load_state(directory, option="--init-state"):
    """(H, W, b, labels) from a ufm-sim state directory, checked; InputError on anything wrong."""
    if not os.path.isdir(directory):
        raise InputError(option, directory, "not a directory")

    def read(name):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            raise InputError(option, directory, f"has no {name} (a one-layer --bias reg state has H, W, b, labels)")
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise InputError(option, directory, f"cannot read {name} ({e})")

    H, W, b, labels = (read(f) for f in ("H.npy", "W.npy", "b.npy", "labels.npy"))
    if os.path.exists(os.path.join(directory, "W1.npy")):
        raise InputError(option, directory, "has W1.npy: a deep UFM state, this script integrates the one-layer UFM")
    if H.ndim != 2 or W.ndim != 2 or b.ndim != 1 or labels.ndim != 1:
        raise InputError(option, directory, f"shapes H {H.shape}, W {W.shape}, b {b.shape}, labels {labels.shape}; "
                                            "expected H d×N, W K×d, b K, labels N")
    (d, N), K = H.shape, W.shape[0]
    if W.shape != (K, d) or b.shape != (K,) or labels.shape != (N,) or K < 2:
        raise InputError(option, directory, f"shapes H {H.shape}, W {W.shape}, b {b.shape}, labels {labels.shape} "
                                            f"do not fit together (expected W ({K}, {d}), b ({K},), labels ({N},))")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= K:
        raise InputError(option, directory, f"labels.npy must hold integers in [0, {K - 1}]")
    for name, x in (("H", H), ("W", W), ("b", b)):
        if not np.all(np.isfinite(x)):
            raise InputError(option, directory, f"{name}.npy has non-finite entries")
    return (H.astype(np.float64), W.astype(np.float64), b.astype(np.float64), labels.astype(np.int64))


class Ufm:
    """The objective of torch_ufm.py (one layer, bias regularized), on a flat θ = (H, W, b)."""

    def __init__(self, labels, K, d, loss, lam, backend):
        self.labels, self.K, self.d, self.N = labels, K, d, labels.size
        self.loss, self.lam, self.backend = loss, lam, backend
        self.sizes = (d * self.N, K * d, K)
        self.cols = np.arange(self.N)
        if backend == "torch":
            import torch
            self.torch = torch
            Y = np.zeros((K, self.N))
            Y[labels, self.cols] = 1.0
            self.Y = torch.from_numpy(Y)
        self.fun_seconds = 0.0  # time spent inside neg_grad

    def flatten(self, H, W, b):
        return np.concatenate([np.ascontiguousarray(H).ravel(), np.ascontiguousarray(W).ravel(), b])

    def split(self, theta):
        """Views H (d×N), W (K×d), b (K) of a flat θ (numpy or torch)."""
        nH, nW, _ = self.sizes
        K, d, N = self.K, self.d, self.N
        return theta[:nH].reshape(d, N), theta[nH:nH + nW].reshape(K, d), theta[nH + nW:]

    def value(self, theta):
        """F(θ) in numpy (not timed; used for the agreement with ufm-sim's objective)."""
        H, W, b = self.split(theta)
        Z = W @ H + b[:, None]
        if self.loss == "ce":
            m = Z.max(axis=0)
            lse = m + np.log(np.exp(Z - m).sum(axis=0))
            data = np.mean(lse - Z[self.labels, self.cols])
        else:
            R = Z.copy()
            R[self.labels, self.cols] -= 1.0
            data = 0.5 / self.N * np.sum(R * R)
        return data + 0.5 * self.lam * (np.dot(H.ravel(), H.ravel()) + np.dot(W.ravel(), W.ravel()) + np.dot(b, b))

    def neg_grad(self, t, theta):
        """−∇F(θ), a new array (the right-hand side given to solve_ivp)."""
        t0 = time.perf_counter()
        out = (self._neg_grad_torch if self.backend == "torch" else self._neg_grad_numpy)(theta)
        self.fun_seconds += time.perf_counter() - t0
        return out

    def _neg_grad_numpy(self, theta):
        H, W, b = self.split(theta)
        out = np.empty_like(theta)
        gH, gW, gb = self.split(out)
        N, lam = self.N, self.lam
        G = W @ H
        G += b[:, None]                                    # Z = W H + b 1ᵀ
        if self.loss == "ce":                              # G = softmax(Z) − Y
            G -= G.max(axis=0)
            np.exp(G, out=G)
            G /= G.sum(axis=0)
        G[self.labels, self.cols] -= 1.0                   # mse: G = Z − Y
        G *= -1.0 / N                                      # −G/N
        np.matmul(W.T, G, out=gH)
        gH -= lam * H                                      # −(Wᵀ G/N + λ H)
        np.matmul(G, H.T, out=gW)
        gW -= lam * W                                      # −(G Hᵀ/N + λ W)
        np.sum(G, axis=1, out=gb)
        gb -= lam * b                                      # −(G 1/N + λ b)
        return out

    def _neg_grad_torch(self, theta):
        torch = self.torch
        H, W, b = self.split(torch.from_numpy(theta))
        out = np.empty_like(theta)
        gH, gW, gb = self.split(torch.from_numpy(out))
        N, lam = self.N, self.lam
        Z = torch.addmm(b.unsqueeze(1), W, H)              # Z = W H + b 1ᵀ
        G = torch.softmax(Z, dim=0).sub_(self.Y) if self.loss == "ce" else Z.sub_(self.Y)
        torch.addmm(H, W.t(), G, beta=-lam, alpha=-1.0 / N, out=gH)   # −(Wᵀ G/N + λ H)
        torch.addmm(W, G, H.t(), beta=-lam, alpha=-1.0 / N, out=gW)   # −(G Hᵀ/N + λ W)
        torch.sum(G, dim=1, out=gb)
        gb.mul_(-1.0 / N).sub_(b, alpha=lam)               # −(G 1/N + λ b)
        return out


def save_state(directory, model, theta, option="--save-final"):
    try:
        os.makedirs(directory, exist_ok=True)
        H, W, b = model.split(theta)
        for name, x in (("H", H), ("W", W), ("b", b), ("labels", model.labels)):
            np.save(os.path.join(directory, name + ".npy"), np.ascontiguousarray(x))
    except OSError as e:
        raise InputError(option, directory, f"cannot write the final state ({e})")


def integrate(a):
    """Loads the state, runs solve_ivp, returns the JSON record (and saves the final state)."""
    from scipy.integrate import solve_ivp
    import scipy

    H, W, b, labels = load_state(a.init_state)
    K, d, N = W.shape[0], H.shape[0], labels.size
    if a.backend == "auto":
        a.backend = "numpy" if d * N + K * d + K < AUTO_NUMPY_BELOW else "torch"
    model = Ufm(labels, K, d, a.loss, a.lam, a.backend)
    if a.backend == "torch":
        model.torch.set_num_threads(a.threads)
    theta0 = model.flatten(H, W, b)
    f0 = model.value(theta0)
    if a.warmup:  # first calls of BLAS / torch and the allocator's first large blocks: not timed
        solve_ivp(model.neg_grad, (0.0, a.time / 100), theta0, method=a.method, rtol=a.rtol, atol=a.atol)
    model.fun_seconds = 0.0

    t0 = time.perf_counter()
    sol = solve_ivp(model.neg_grad, (0.0, a.time), theta0, method=a.method, rtol=a.rtol, atol=a.atol)
    wall = time.perf_counter() - t0

    theta = sol.y[:, -1].copy()
    del sol.y  # (|θ|, steps + 1): every accepted state
    steps = len(sol.t) - 1
    trials = (sol.nfev - 2) / EVALS_PER_TRIAL[a.method]
    counts = np.bincount(labels, minlength=K)
    rec = {
        "impl": "scipy-solve_ivp", "backend": a.backend, "method": a.method, "loss": a.loss, "lam": a.lam,
        "K": K, "n": int(counts[0]) if np.all(counts == counts[0]) else None, "N": N, "d": d,
        "num_params": theta0.size, "T": a.time, "t_final": float(sol.t[-1]), "rtol": a.rtol, "atol": a.atol,
        "threads": a.threads, "warmup": a.warmup, "wall_s": wall, "steps": steps, "gradient_evaluations": int(sol.nfev),
        "trial_steps": trials, "rejected_steps": trials - steps,
        "fun_s": model.fun_seconds, "us_per_evaluation": 1e6 * wall / sol.nfev,
        "us_per_fun_call": 1e6 * model.fun_seconds / sol.nfev,
        "initial_objective": f0, "final_objective": model.value(theta),
        "status": int(sol.status), "message": sol.message, "scipy": scipy.__version__, "numpy": np.__version__,
    }
    if a.backend == "torch":
        rec["torch"] = model.torch.__version__
    if a.save_final:
        save_state(a.save_final, model, theta)
    return rec


def main(argv=None):
    a = parse_args(argv)
    try:
        rec = integrate(a)
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(rec))
    return 0 if rec["status"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
