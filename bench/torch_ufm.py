#!/usr/bin/python3
"""PyTorch reference: full-batch gradient descent on the unconstrained features model.

Run with Debian's interpreter:  /usr/bin/python3 torch_ufm.py --loss ce --K 10 --n 500 --d 512

Model (shapes in comments; N = K*n, balanced classes, labels in blocks: column i has label i // n)
  layers=1:  Z = W H + b 1^T                      W: K x d, H: d x N, b: K
  layers=2:  A = W1 H,  S = act(A),  Z = W2 S + b 1^T
             W1: d1 x d, W2: K x d1, act = identity (default) or relu (--relu)
Loss
  ce : (1/N) sum_i -log softmax(Z[:, i])[y_i]
  mse: (1/(2N)) ||Z - Y||_F^2,  Y one-hot (K x N)
  plus lamW/2 ||W||^2 + lamH/2 ||H||^2 + lamb/2 ||b||^2   (each weight matrix gets lamW)
Dynamics
  plain full-batch gradient descent, theta <- theta - lr * grad L(theta), for every parameter.

Two implementations of the same step, selectable:
  manual  (default): closed-form matrix gradients, with G = dL_data/dZ * N
          ce: G = softmax(Z) - Y;  mse: G = Z - Y
          grad W = G H^T / N + lamW W,  grad H = W^T G / N + lamH H,  grad b = G 1 / N + lamb b
          (2 layers: grad W2 = G S^T/N, dS = W2^T G, dA = dS * act'(A), grad W1 = dA H^T/N,
           grad H = W1^T dA / N, each plus its lam * parameter)
          Buffers are preallocated; products go straight to BLAS via torch.mm/addmm with out=
          or in place, the weight-decay factor is folded into addmm's beta.  This is the
          fastest plain-PyTorch formulation we know, so the reference is not handicapped.
  --autograd: the loss is written with torch ops (F.cross_entropy / F.mse_loss plus the
          regularizers), loss.backward(), then p -= lr * p.grad under no_grad.

Timing: `--warmup` untimed steps, then `--steps` timed steps (wall clock, perf_counter).
With --steps 0 the step count is calibrated so that the timed loop lasts about --target-time
seconds.  The final (regularized) loss, accuracy and NC1 are computed after the timed loop
and are not timed.  One JSON line is printed on stdout.

NC1 = trace(Sigma_W pinv(Sigma_B)) / K with
  Sigma_W = (1/N) sum_c sum_{i in c} (h_i - mu_c)(h_i - mu_c)^T,
  Sigma_B = (1/K) sum_c (mu_c - mu_G)(mu_c - mu_G)^T,  mu_G = mean of the class means.
It is computed on H, and for layers=2 also on the hidden features S = act(W1 H).
"""
import argparse
import json
import math
import os
import platform
import sys
import time


from blas_threads import pin_blas_threads  # noqa: E402  (bench/, the script's own directory)

pin_blas_threads(sys.argv[1:])  # torch.set_num_threads does not reach OpenBLAS's own pool

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--loss", choices=["ce", "mse"], default="ce")
    p.add_argument("--K", type=int, default=10, help="number of classes")
    p.add_argument("--n", type=int, default=100, help="samples per class")
    p.add_argument("--d", type=int, default=64, help="feature dimension")
    p.add_argument("--d1", type=int, default=0, help="hidden width for --layers 2 (default: d)")
    p.add_argument("--layers", type=int, choices=[1, 2], default=1)
    p.add_argument("--relu", action="store_true", help="ReLU between the two layers (layers=2)")
    p.add_argument("--steps", type=int, default=1000,
                   help="timed GD steps; 0 = calibrate to --target-time seconds")
    p.add_argument("--target-time", type=float, default=3.0)
    p.add_argument("--warmup", type=int, default=-1,
                   help="untimed steps before timing (default: min(10, max(1, steps/10)))")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--lam", type=float, default=5e-4, help="default for lamW, lamH, lamb")
    p.add_argument("--lamW", type=float, default=None)
    p.add_argument("--lamH", type=float, default=None)
    p.add_argument("--lamb", type=float, default=None)
    p.add_argument("--no-bias", action="store_true", help="bias-free model (b fixed at 0)")
    p.add_argument("--init", type=float, default=0.1, help="std of the Gaussian initialization")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--autograd", action="store_true", help="use torch.autograd instead of manual gradients")
    p.add_argument("--init-state", metavar="DIR",
                   help="start from ufm-sim's state files (H.npy, W.npy, W1.npy, b.npy of --save-state) "
                        "instead of the seeded Gaussian init; with --steps S --warmup 0 the run takes "
                        "exactly S steps, so its final_loss can be compared with ufm-sim's")
    a = p.parse_args(argv)
    for name in ("lamW", "lamH", "lamb"):
        if getattr(a, name) is None:
            setattr(a, name, a.lam)
    if a.d1 <= 0:
        a.d1 = a.d
    for name in ("K", "n", "d", "d1", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(a, name)}")
    if a.K < 2:
        p.error(f"--K must be >= 2, got {a.K}")
    if a.steps < 0:
        p.error(f"--steps must be >= 0, got {a.steps}")
    if a.relu and a.layers != 2:
        p.error("--relu needs --layers 2")
    return a


class UFM:
    """Parameters, data and the two step implementations."""

    def __init__(self, a):
        self.a = a
        dt = getattr(torch, a.dtype)
        g = torch.Generator().manual_seed(a.seed)
        K, n, d, d1 = a.K, a.n, a.d, a.d1
        self.N = N = K * n
        self.labels = torch.arange(K).repeat_interleave(n)                  # N
        self.Y = F.one_hot(self.labels, K).t().contiguous().to(dt)          # K x N
        self.H = (torch.randn(d, N, generator=g, dtype=dt) * a.init)        # d x N
        if a.layers == 1:
            self.Ws = [torch.randn(K, d, generator=g, dtype=dt) * a.init]   # W: K x d
        else:
            self.Ws = [torch.randn(d1, d, generator=g, dtype=dt) * a.init,  # W1: d1 x d
                       torch.randn(K, d1, generator=g, dtype=dt) * a.init]  # W2: K x d1
        self.b = torch.zeros(K, dtype=dt)                                     # K
        if a.init_state:
            self._load_state(a.init_state, dt)
        # manual-mode buffers (no allocation in the step loop except softmax / relu mask)
        self.Z = torch.empty(K, N, dtype=dt)                                  # K x N
        self.gWs = [torch.empty_like(W) for W in self.Ws]
        if a.layers == 2:
            self.A = torch.empty(d1, N, dtype=dt)                             # d1 x N
            self.S = torch.empty(d1, N, dtype=dt) if a.relu else self.A
            self.dS = torch.empty(d1, N, dtype=dt)                            # d1 x N
        self.params = [self.H, *self.Ws] + ([] if a.no_bias else [self.b])
        if a.autograd:
            for p in self.params:
                p.requires_grad_(True)

    def _load_state(self, directory, dt):
        """ufm-sim's --save-state files: H (d x N), W (the classifier), W1 (hidden), b (K)."""
        import numpy as np

        def fail(what):  # a bad option: exit 2, naming it, like argparse
            print(f"torch_ufm.py: --init-state {directory}: {what}", file=sys.stderr)
            sys.exit(2)

        def read(name):
            try:
                return np.load(os.path.join(directory, name))
            except (OSError, ValueError) as e:
                fail(f"cannot read {name} ({e})")

        def load(name, shape):
            x = torch.from_numpy(read(name)).to(dt).contiguous()
            if tuple(x.shape) != shape:
                fail(f"{name} has shape {tuple(x.shape)}, expected {shape} for these --K/--n/--d")
            return x

        a, K, N = self.a, self.a.K, self.N
        if not np.array_equal(read("labels.npy"), self.labels.numpy()):
            fail("labels.npy is not K blocks of n labels")
        self.H = load("H.npy", (a.d, N))
        if a.layers == 1:
            self.Ws = [load("W.npy", (K, a.d))]
        else:
            self.Ws = [load("W1.npy", (a.d1, a.d)), load("W.npy", (K, a.d1))]
        if not a.no_bias and os.path.exists(os.path.join(directory, "b.npy")):
            self.b = load("b.npy", (K,))

    # ---------- manual gradients ----------
    def _G(self, Z):
        """N * dL_data/dZ (K x N)."""
        if self.a.loss == "ce":
            G = torch.softmax(Z, dim=0)
            G.sub_(self.Y)
            return G
        return Z.sub_(self.Y)  # mse: Z - Y, in place (Z is a buffer)

    def step_manual(self):
        a, N, lr = self.a, self.N, self.a.lr
        H, b = self.H, self.b
        s = -lr / N
        if a.layers == 1:
            W, gW = self.Ws[0], self.gWs[0]
            torch.addmm(b.unsqueeze(1), W, H, out=self.Z)            # Z = W H + b 1^T
            G = self._G(self.Z)
            torch.mm(G, H.t(), out=gW)                                # G H^T      (K x d)
            H.addmm_(W.t(), G, beta=1.0 - lr * a.lamH, alpha=s)      # H -= lr (W^T G/N + lamH H)
            W.mul_(1.0 - lr * a.lamW).add_(gW, alpha=s)
        else:
            W1, W2 = self.Ws
            gW1, gW2 = self.gWs
            A, S, dS = self.A, self.S, self.dS
            torch.mm(W1, H, out=A)                                    # A = W1 H     (d1 x N)
            if a.relu:
                torch.clamp_min(A, 0.0, out=S)                        # S = relu(A)
            torch.addmm(b.unsqueeze(1), W2, S, out=self.Z)           # Z = W2 S + b 1^T
            G = self._G(self.Z)
            torch.mm(G, S.t(), out=gW2)                               # G S^T      (K x d1)
            torch.mm(W2.t(), G, out=dS)                               # W2^T G     (d1 x N)
            if a.relu:
                dS.masked_fill_(A <= 0, 0.0)                          # dA = dS * 1[A > 0]
            torch.mm(dS, H.t(), out=gW1)                              # dA H^T     (d1 x d)
            H.addmm_(W1.t(), dS, beta=1.0 - lr * a.lamH, alpha=s)    # H -= lr (W1^T dA/N + lamH H)
            W1.mul_(1.0 - lr * a.lamW).add_(gW1, alpha=s)
            W2.mul_(1.0 - lr * a.lamW).add_(gW2, alpha=s)
        if not a.no_bias:
            b.mul_(1.0 - lr * a.lamb).add_(G.sum(dim=1), alpha=s)    # b -= lr (G 1/N + lamb b)

    # ---------- autograd ----------
    def logits(self):
        a = self.a
        if a.layers == 1:
            Z = self.Ws[0] @ self.H
        else:
            A = self.Ws[0] @ self.H
            Z = self.Ws[1] @ (torch.relu(A) if a.relu else A)
        if not a.no_bias:
            Z = Z + self.b.unsqueeze(1)
        return Z

    def loss(self):
        a = self.a
        Z = self.logits()
        if a.loss == "ce":
            data = F.cross_entropy(Z.unsqueeze(0), self.labels.unsqueeze(0))  # class dim = 1
        else:
            data = 0.5 / self.N * F.mse_loss(Z, self.Y, reduction="sum")
        reg = 0.5 * a.lamH * self.H.pow(2).sum()
        for W in self.Ws:
            reg = reg + 0.5 * a.lamW * W.pow(2).sum()
        if not a.no_bias:
            reg = reg + 0.5 * a.lamb * self.b.pow(2).sum()
        return data + reg, data, Z

    def step_autograd(self):
        lr = self.a.lr
        total, _, _ = self.loss()
        total.backward()
        with torch.no_grad():
            for p in self.params:
                p.add_(p.grad, alpha=-lr)
                p.grad = None

    # ---------- evaluation (not timed) ----------
    @torch.no_grad()
    def evaluate(self):
        total, data, Z = self.loss()
        acc = (Z.argmax(dim=0) == self.labels).double().mean().item()
        out = {"final_loss": total.item(), "final_data_loss": data.item(), "train_acc": acc,
               "nc1_H": nc1(self.H, self.a.K, self.a.n)}
        if self.a.layers == 2:
            A = self.Ws[0] @ self.H
            out["nc1_hidden"] = nc1(torch.relu(A) if self.a.relu else A, self.a.K, self.a.n)
        return out


@torch.no_grad()
def nc1(Hf, K, n):
    """trace(Sigma_W pinv(Sigma_B)) / K for features Hf (d x N), labels in blocks of n."""
    Hf = Hf.detach().double()
    d, N = Hf.shape
    Hc = Hf.reshape(d, K, n)                   # column c*n + j -> class c
    mu_c = Hc.mean(dim=2)                      # d x K
    mu_g = mu_c.mean(dim=1, keepdim=True)      # d x 1
    Hw = (Hc - mu_c.unsqueeze(2)).reshape(d, N)
    Sw = Hw @ Hw.t() / N                       # d x d
    M = mu_c - mu_g
    Sb = M @ M.t() / K                         # d x d, rank <= K-1
    return (torch.trace(Sw @ torch.linalg.pinv(Sb, hermitian=True)) / K).item()


def gemm_flops_per_step(a):
    K, N, d, d1 = a.K, a.K * a.n, a.d, a.d1
    if a.layers == 1:
        return 6 * K * d * N                    # W H, G H^T, W^T G
    return 6 * K * d1 * N + 6 * d1 * d * N      # W2 S, G S^T, W2^T G; W1 H, dA H^T, W1^T dA


def loaded_blas():
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                base = os.path.basename(path)
                if any(k in base for k in ("blas", "mkl", "lapack", "dnnl")):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    m = UFM(a)
    step = m.step_autograd if a.autograd else m.step_manual

    cpu = [0.0]

    def run(k):
        c0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(k):
            step()
        el = time.perf_counter() - t0
        cpu[0] = time.process_time() - c0
        return el

    steps = a.steps
    calib_steps = 0
    if steps == 0:  # calibrate: grow a probe until it lasts >= 0.2 s (or target/10)
        k, el = 1, run(1)
        calib_steps = 1
        while el < min(0.2, a.target_time / 10):
            k *= 4
            el = run(k)
            calib_steps += k
        steps = max(1, math.ceil(a.target_time / (el / k)))
    warmup = a.warmup if a.warmup >= 0 else min(10, max(1, steps // 10))
    run(warmup)
    elapsed = run(steps)
    ev = m.evaluate()
    total_steps = calib_steps + warmup + steps
    flops = gemm_flops_per_step(a)
    rec = {
        "impl": "torch-autograd" if a.autograd else "torch-manual",
        "loss": a.loss, "K": a.K, "n": a.n, "N": m.N, "d": a.d,
        "d1": a.d1 if a.layers == 2 else None, "layers": a.layers, "relu": a.relu,
        "bias": not a.no_bias, "dtype": a.dtype, "lr": a.lr,
        "lamW": a.lamW, "lamH": a.lamH, "lamb": a.lamb, "init": a.init, "seed": a.seed,
        "threads_requested": a.threads, "torch_num_threads": torch.get_num_threads(),
        "steps": steps, "warmup": warmup, "calibration_steps": calib_steps,
        "total_gd_steps": total_steps,
        "elapsed_s": elapsed, "steps_per_s": steps / elapsed, "us_per_step": 1e6 * elapsed / steps,
        "cpu_s": cpu[0], "cpu_steps_per_s": steps / cpu[0] if cpu[0] > 0 else None,
        "gemm_flops_per_step": flops, "gemm_gflops_achieved": flops * steps / elapsed / 1e9,
        **ev,
        "torch": torch.__version__, "python": platform.python_version(),
        "blas_libs_loaded": loaded_blas(),
    }
    print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
