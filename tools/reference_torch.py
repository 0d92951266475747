#!/usr/bin/python3
"""PyTorch reference of fmcl's recipe: the same model, path, loss, optimizer and solvers,
trained on the points `fmcl data` exports, so fmcl's samples, likelihoods and speed can be
compared with a known-good implementation (tools/quality.py, tools/solvers_table.py).

    /usr/bin/python3 tools/reference_torch.py --train DATA/train.csv --test DATA/test.csv \
        --seed 0 --out /tmp/torch-run --save-model /tmp/torch-run/model.pt

    # the saved model, other solvers, no retraining; --likelihood adds the held-out NLL
    /usr/bin/python3 tools/reference_torch.py --load-model /tmp/torch-run/model.pt \
        --test DATA/test.csv --solver dopri5 --rtol 1e-5 --atol 1e-5 --likelihood \
        --out /tmp/torch-run/dopri5

Run with Debian's /usr/bin/python3 (python3-torch). For a fair speed figure against fmcl
on a CPU, set OPENBLAS_CORETYPE=SkylakeX and keep --threads 1.

The output folder mirrors fmcl's run folder: samples.csv, test.csv (with --test),
train.csv (step,loss,lr,steps_per_s every 100 steps; not with --load-model) and
summary.json with the same train/sample/seconds layout as fmcl's summary, so one reader
serves both; --likelihood adds likelihood.csv (log_likelihood, one line a point, as
`fmcl likelihood --out`) and a "likelihood" section.

Solvers: euler, midpoint, heun, rk4 (fixed steps) and dopri5 (adaptive Dormand-Prince
5(4) with FSAL, the Hairer-Norsett-Wanner first step, safety 0.9, step factor in
[0.2, 10] and no growth right after a rejection, error norm = RMS over all elements of
the state of err / (atol + rtol max(|y0|, |y1|)): fmcl's src/solver.c, so the NFE of
both is comparable). NFE counts every evaluation of the velocity field (for dopri5 the
first-step probe too); for the likelihood one evaluation of [v, div v] counts as one, as
in fmcl. Sampling integrates all --n-samples points as one state (fmcl's sample.batch is
8192), the likelihood --eval-batch points at a time (NFE: the largest over the batches).

Likelihood: the state [x (n, dim) | l (n)] goes from t = 1 to t = 0 with
d[x, l]/dt = [v(x, t), div v(x, t)], l(1) = 0, so l(0) = -integral_0^1 div v dt and
log q(x1) = log N(x(0); 0, I) + l(0). The divergence is exact: dim vector-Jacobian
products through autograd per evaluation.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
STAGES = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4}
SOLVERS = sorted(STAGES) + ["dopri5"]
LOG_EVERY = 100  # as fmcl's train.log_every; final_loss is the mean of the last window


def read_points(path):
    """The x0,x1,... columns of a CSV with a header row (fmcl's `label` column is dropped)."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    keep = [i for i, name in enumerate(header) if name.startswith("x")]
    return torch.from_numpy(np.ascontiguousarray(data[:, keep]))


def write_points(path, x):
    header = ",".join(f"x{d}" for d in range(x.shape[1]))
    np.savetxt(path, x.numpy(), delimiter=",", header=header, comments="", fmt="%.9g")


class VelocityField(nn.Module):
    """v(x, t): an MLP on [x, t, sin(2 pi k t), cos(2 pi k t) for k = 1..time_features]."""

    def __init__(self, dim, hidden, activation, time_features):
        super().__init__()
        self.time_features = time_features
        widths = [dim + 1 + 2 * time_features] + list(hidden)
        layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation]()]
        layers.append(nn.Linear(widths[-1], dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x, t):
        t = t.reshape(-1, 1)
        features = [x, t]
        for k in range(1, self.time_features + 1):
            features += [torch.sin(2 * math.pi * k * t), torch.cos(2 * math.pi * k * t)]
        return self.net(torch.cat(features, dim=1))


def condot_batch(data, batch, sigma_min, generator):
    """A batch of the condot path: x1 drawn with replacement, x0 ~ N(0, I), t ~ U[0, 1);
    returns x_t = t x1 + (1 - (1 - sigma_min) t) x0, t and the target u = x1 - (1 - sigma_min) x0."""
    x1 = data[torch.randint(0, data.shape[0], (batch,), generator=generator)]
    x0 = torch.randn(x1.shape, generator=generator)
    t = torch.rand(batch, generator=generator)
    tt = t.reshape(-1, 1)
    x_t = tt * x1 + (1 - (1 - sigma_min) * tt) * x0
    return x_t, t, x1 - (1 - sigma_min) * x0


class Counted:
    """f(t, y) that counts its evaluations (NFE)."""

    def __init__(self, f):
        self.f, self.nfe = f, 0

    def __call__(self, t, y):
        self.nfe += 1
        return self.f(t, y)


def fixed_steps(f, y, t0, t1, solver, steps):
    """dy/dt = f(t, y) from t0 to t1 with `steps` fixed steps of the given solver; the stage
    times come from the step index (as fmcl), so the last step ends at t1."""
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    dt = (t1 - t0) / steps
    h = dt
    for i in range(steps):
        t = t0 + dt * i
        if solver == "euler":
            y = y + h * f(t, y)
        elif solver == "midpoint":
            y = y + h * f(t + 0.5 * dt, y + 0.5 * h * f(t, y))
        elif solver == "heun":
            k1 = f(t, y)
            k2 = f(t + dt, y + h * k1)
            y = y + 0.5 * h * (k1 + k2)
        elif solver == "rk4":  # the classical one
            k1 = f(t, y)
            k2 = f(t + 0.5 * dt, y + 0.5 * h * k1)
            k3 = f(t + 0.5 * dt, y + 0.5 * h * k2)
            k4 = f(t + dt, y + h * k3)
            y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        else:
            raise ValueError(f"not a fixed-step solver: {solver}")
    return y


# Dormand-Prince 5(4) (Dormand and Prince 1980; Hairer, Norsett and Wanner I, table 5.2):
# stage s = 2..7 at t + C[s] h on y + h sum_j A[s][j] k_j; row 7 is the 5th-order solution,
# whose velocity k7 is the next step's k1 (FSAL). E = b - b* over k1, k3, k4, k5, k6, k7.
DP_C = [0, 0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1]
DP_A = [None, None,
        [1 / 5],
        [3 / 40, 9 / 40],
        [44 / 45, -56 / 15, 32 / 9],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]]
DP_E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40]
SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0
ERROR_EXPONENT = -1 / 5  # -1 / (order of the error estimate + 1)


def rms(z):
    """Root mean square over all elements (in double)."""
    return math.sqrt(float(torch.mean(z.double() ** 2)))


def dopri5(f, y, t0, t1, rtol, atol, max_steps=100000, stats=None):
    """dy/dt = f(t, y) from t0 to t1 (either direction) with adaptive Dormand-Prince 5(4);
    stats (a dict) gets accepted/rejected step counts."""
    if rtol < 0 or atol < 0 or rtol == 0 and atol == 0:
        raise ValueError(f"dopri5: need rtol, atol >= 0, not both 0 (got {rtol}, {atol})")
    span, direction = abs(t1 - t0), (1.0 if t1 > t0 else -1.0)
    stats = {} if stats is None else stats
    stats.update(accepted=0, rejected=0)
    if span == 0 or y.numel() == 0:
        return y
    k = [None] * 8  # k[1..7]
    k[1] = f(t0, y)

    # First step (Hairer, Norsett and Wanner I, II.4; scipy's select_initial_step).
    scale = atol + rtol * y.abs()
    d0, d1 = rms(y / scale), rms(k[1] / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 or not math.isfinite(d0 / d1) else 0.01 * d0 / d1
    h0 = min(h0, span)
    f1 = f(t0 + direction * h0, y + direction * h0 * k[1])
    d2 = rms((f1 - k[1]) / scale) / h0
    if not math.isfinite(d2):
        h1 = h0
    elif d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (-ERROR_EXPONENT)
    h = min(100 * h0, h1, span)

    t, after_reject = t0, False
    floor = 1e-10 * span
    while t != t1:
        h_min = max(floor, 64 * sys.float_info.epsilon * max(abs(t), abs(t1)))
        if not h >= h_min:
            raise FloatingPointError(f"dopri5: step size {h:.3g} at t = {t:.9g} fell below "
                                     f"{h_min:.3g} ({stats})")
        if stats["accepted"] + stats["rejected"] >= max_steps:
            raise FloatingPointError(f"dopri5: reached max_steps = {max_steps} at t = {t:.9g}")
        t_new = t + direction * h
        if direction * (t_new - t1) >= 0:
            t_new = t1
        hs = t_new - t  # signed
        for row in range(2, 8):
            y_stage = y
            for j, a in enumerate(DP_A[row]):
                if a != 0:
                    y_stage = y_stage + (hs * a) * k[j + 1]
            k[row] = f(t + DP_C[row] * hs, y_stage)
        y_new = y_stage  # row 7: the 5th-order solution, k[7] its velocity
        err = sum((hs * e) * k[j + 1] for j, e in enumerate(DP_E) if e != 0)
        norm = rms(err / (atol + rtol * torch.maximum(y.abs(), y_new.abs())))
        if math.isnan(norm):
            raise FloatingPointError(f"dopri5: NaN state or velocity at t = {t:.9g}")
        if norm <= 1:
            factor = MAX_FACTOR if norm == 0 else min(MAX_FACTOR, SAFETY * norm ** ERROR_EXPONENT)
            if after_reject:
                factor = min(1.0, factor)
            t, y, k[1] = t_new, y_new, k[7]
            stats["accepted"] += 1
            after_reject = False
        else:  # Inf (a trial stage overflowed) shrinks by the largest factor
            factor = max(MIN_FACTOR, SAFETY * norm ** ERROR_EXPONENT) if math.isfinite(norm) \
                else MIN_FACTOR
            stats["rejected"] += 1
            after_reject = True
        h = abs(hs) * factor
    return y


def solve(f, y, t0, t1, solver, steps, rtol, atol):
    """Integrates with the given solver; returns the end state and the NFE."""
    counted = Counted(f)
    if solver == "dopri5":
        y = dopri5(counted, y, t0, t1, rtol, atol)
    else:
        y = fixed_steps(counted, y, t0, t1, solver, steps)
    return y, counted.nfe


@torch.no_grad()
def sample(model, x0, solver, steps, rtol, atol):
    """x(1) of dx/dt = v(x, t) from x(0) = x0; returns the samples and the NFE."""
    n = x0.shape[0]

    def v(t, x):
        return model(x, torch.full((n,), t, dtype=x.dtype))

    return solve(v, x0, 0.0, 1.0, solver, steps, rtol, atol)


def log_likelihood(model, x1, solver, steps, rtol, atol):
    """log q(x1) for each row: [x, l] from t = 1 to 0 with d/dt [x, l] = [v, div v] and the
    exact divergence; returns the log-likelihoods (float64) and the NFE."""
    n, dim = x1.shape

    def augmented(t, y):
        with torch.enable_grad():
            x = y[: n * dim].reshape(n, dim).detach().requires_grad_(True)
            v = model(x, torch.full((n,), t, dtype=x.dtype))
            div = torch.zeros(n, dtype=x.dtype)
            for d in range(dim):  # one vector-Jacobian product per dimension: row d of J
                (g,) = torch.autograd.grad(v[:, d].sum(), x, retain_graph=d < dim - 1)
                div = div + g[:, d]
        return torch.cat([v.detach().reshape(-1), div.detach()])

    y = torch.cat([x1.reshape(-1), torch.zeros(n, dtype=x1.dtype)])
    y, nfe = solve(augmented, y, 1.0, 0.0, solver, steps, rtol, atol)
    x0 = y[: n * dim].reshape(n, dim).double()
    l0 = y[n * dim:].double()
    log_p0 = -0.5 * (x0 ** 2).sum(dim=1) - 0.5 * dim * math.log(2 * math.pi)
    return (log_p0 + l0).numpy(), nfe


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", help="training points (train.csv of `fmcl data`); needed "
                   "unless --load-model")
    p.add_argument("--test", help="held-out points (test.csv of `fmcl data`), copied to OUT; "
                   "the points of --likelihood")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--save-model", metavar="PATH", help="save the trained model (state dict "
                   "and architecture) here")
    p.add_argument("--load-model", metavar="PATH", help="a model from --save-model instead "
                   "of training (the architecture options are then taken from it)")
    p.add_argument("--hidden", default="256,256,256", help="hidden widths, comma-separated")
    p.add_argument("--activation", default="silu", choices=sorted(ACTIVATIONS))
    p.add_argument("--time-features", type=int, default=0)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--sigma-min", type=float, default=1e-4)
    p.add_argument("--solver", default="rk4", choices=SOLVERS, help="solver of the samples")
    p.add_argument("--sample-steps", type=int, default=25, help="its steps (fixed-step solvers)")
    p.add_argument("--rtol", type=float, default=1e-5, help="dopri5's relative tolerance")
    p.add_argument("--atol", type=float, default=1e-5, help="dopri5's absolute tolerance")
    p.add_argument("--n-samples", type=int, default=2000, help="0: no samples")
    p.add_argument("--likelihood", action="store_true",
                   help="log-likelihood of the --test points (exact divergence)")
    p.add_argument("--eval-solver", choices=SOLVERS, help="its solver (default: --solver)")
    p.add_argument("--eval-steps", type=int, help="its steps (default: --sample-steps)")
    p.add_argument("--eval-batch", type=int, default=8192,
                   help="points integrated at once (fmcl: sample.batch)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if not args.train and not args.load_model:
        p.error("one of --train and --load-model is needed")
    if args.likelihood and not args.test:
        p.error("--likelihood needs --test")
    eval_solver = args.eval_solver or args.solver
    eval_steps = args.eval_steps or args.sample_steps

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # parameter initialisation
    generator = torch.Generator().manual_seed(args.seed)  # batches and sampling noise
    os.makedirs(args.out, exist_ok=True)

    if args.load_model:
        saved = torch.load(args.load_model)
        arch = saved["architecture"]
        model = VelocityField(arch["dim"], arch["hidden"], arch["activation"],
                              arch["time_features"])
        model.load_state_dict(saved["state_dict"])
        dim, train_summary, train_seconds = arch["dim"], saved.get("train"), 0.0
    else:
        data = read_points(args.train)
        dim = data.shape[1]
        hidden = [int(w) for w in args.hidden.split(",") if w]
        arch = {"dim": dim, "hidden": hidden, "activation": args.activation,
                "time_features": args.time_features}
        model = VelocityField(dim, hidden, args.activation, args.time_features)
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        losses, log = [], []
        start = window_start = time.perf_counter()
        for step in range(1, args.steps + 1):
            x_t, t, u = condot_batch(data, args.batch, args.sigma_min, generator)
            loss = ((model(x_t, t) - u) ** 2).sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if step % LOG_EVERY == 0 or step == args.steps:
                now = time.perf_counter()
                n = (step - 1) % LOG_EVERY + 1
                log.append((step, float(np.mean(losses[-n:])), args.lr, n / (now - window_start)))
                window_start = now
        train_seconds = time.perf_counter() - start
        train_summary = {
            "steps": args.steps,
            "batch": args.batch,
            "final_loss": float(np.mean(losses[-LOG_EVERY:])) if losses else None,
            "steps_per_s": args.steps / train_seconds if train_seconds > 0 else None,
        }
        with open(os.path.join(args.out, "train.csv"), "w") as f:
            f.write("step,loss,lr,steps_per_s\n")
            f.writelines(f"{s},{l:.7g},{r:g},{v:.2f}\n" for s, l, r, v in log)
        if args.save_model:
            torch.save({"architecture": arch, "state_dict": model.state_dict(),
                        "train": train_summary, "seed": args.seed}, args.save_model)
    model.eval()
    for q in model.parameters():  # the likelihood differentiates with respect to x only
        q.requires_grad_(False)

    summary = {
        "implementation": f"torch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "model": {"parameters": sum(q.numel() for q in model.parameters()), "dim": dim},
        "train": train_summary,
    }
    if args.load_model:
        summary["model"]["loaded_from"] = os.path.abspath(args.load_model)
    seconds = {"train": train_seconds}

    if args.n_samples > 0:
        start = time.perf_counter()
        x0 = torch.randn((args.n_samples, dim), generator=generator)
        samples, nfe = sample(model, x0, args.solver, args.sample_steps, args.rtol, args.atol)
        seconds["sample"] = time.perf_counter() - start
        write_points(os.path.join(args.out, "samples.csv"), samples)
        summary["sample"] = {
            "solver": args.solver,
            "steps": args.sample_steps if args.solver != "dopri5" else None,
            "rtol": args.rtol if args.solver == "dopri5" else None,
            "atol": args.atol if args.solver == "dopri5" else None,
            "n": args.n_samples,
            "nfe": nfe,
            "points_per_s": (args.n_samples / seconds["sample"] if seconds["sample"] > 0
                             else None),
        }
    if args.test:
        test = read_points(args.test)
        write_points(os.path.join(args.out, "test.csv"), test)
    if args.likelihood:
        start = time.perf_counter()
        logp, nfe = [], 0
        for first in range(0, test.shape[0], args.eval_batch):
            lp, batch_nfe = log_likelihood(model, test[first:first + args.eval_batch],
                                           eval_solver, eval_steps, args.rtol, args.atol)
            logp.append(lp)
            nfe = max(nfe, batch_nfe)
        logp = np.concatenate(logp)
        seconds["likelihood"] = time.perf_counter() - start
        with open(os.path.join(args.out, "likelihood.csv"), "w") as f:
            f.write("log_likelihood\n")
            f.writelines(f"{v:.9g}\n" for v in logp)
        nll = float(-logp.mean())
        summary["likelihood"] = {
            "solver": eval_solver,
            "steps": eval_steps if eval_solver != "dopri5" else None,
            "rtol": args.rtol if eval_solver == "dopri5" else None,
            "atol": args.atol if eval_solver == "dopri5" else None,
            "divergence": "exact",
            "n": int(test.shape[0]),
            "nll": nll,
            "bits_per_dim": nll / (dim * math.log(2)),
            "nfe": nfe,
        }
    summary["seconds"] = seconds
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
