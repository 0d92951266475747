#!/usr/bin/python3
"""PyTorch reference of fmcl's recipe: the same model, path, loss, optimizer and solvers,
trained on the points `fmcl data` exports, so fmcl's samples and speed can be compared
with a known-good implementation (tools/quality.py).

    /usr/bin/python3 tools/reference_torch.py --train DATA/train.csv --test DATA/test.csv \
        --seed 0 --out /tmp/torch-run

Run with Debian's /usr/bin/python3 (python3-torch). For a fair speed figure against fmcl
on a CPU, set OPENBLAS_CORETYPE=SkylakeX and keep --threads 1.

The output folder mirrors fmcl's run folder: samples.csv, test.csv (with --test),
train.csv (step,loss,lr,steps_per_s every 100 steps) and summary.json with the same
train/sample/seconds layout as fmcl's summary, so one reader serves both.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}
STAGES = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4}
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


@torch.no_grad()
def integrate(model, x, solver, steps):
    """dx/dt = v(x, t) from t = 0 to 1 with `steps` fixed steps of the given solver."""
    h = 1.0 / steps

    def v(x, t):
        return model(x, torch.full((x.shape[0],), t))

    for i in range(steps):
        t = i * h
        if solver == "euler":
            x = x + h * v(x, t)
        elif solver == "midpoint":
            x = x + h * v(x + 0.5 * h * v(x, t), t + 0.5 * h)
        elif solver == "heun":
            k1 = v(x, t)
            k2 = v(x + h * k1, t + h)
            x = x + 0.5 * h * (k1 + k2)
        else:  # rk4, the classical one
            k1 = v(x, t)
            k2 = v(x + 0.5 * h * k1, t + 0.5 * h)
            k3 = v(x + 0.5 * h * k2, t + 0.5 * h)
            k4 = v(x + h * k3, t + h)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", required=True, help="training points (train.csv of `fmcl data`)")
    p.add_argument("--test", help="held-out points (test.csv of `fmcl data`), copied to OUT")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--hidden", default="256,256,256", help="hidden widths, comma-separated")
    p.add_argument("--activation", default="silu", choices=sorted(ACTIVATIONS))
    p.add_argument("--time-features", type=int, default=0)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--sigma-min", type=float, default=1e-4)
    p.add_argument("--solver", default="rk4", choices=sorted(STAGES))
    p.add_argument("--sample-steps", type=int, default=25)
    p.add_argument("--n-samples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # parameter initialisation
    generator = torch.Generator().manual_seed(args.seed)  # batches and sampling noise
    data = read_points(args.train)
    dim = data.shape[1]
    hidden = [int(w) for w in args.hidden.split(",") if w]
    model = VelocityField(dim, hidden, args.activation, args.time_features)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    os.makedirs(args.out, exist_ok=True)

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

    start = time.perf_counter()
    x0 = torch.randn((args.n_samples, dim), generator=generator)
    samples = integrate(model, x0, args.solver, args.sample_steps)
    sample_seconds = time.perf_counter() - start

    write_points(os.path.join(args.out, "samples.csv"), samples)
    if args.test:
        write_points(os.path.join(args.out, "test.csv"), read_points(args.test))
    with open(os.path.join(args.out, "train.csv"), "w") as f:
        f.write("step,loss,lr,steps_per_s\n")
        f.writelines(f"{s},{l:.7g},{r:g},{v:.2f}\n" for s, l, r, v in log)
    summary = {
        "implementation": f"torch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "model": {"parameters": sum(q.numel() for q in model.parameters()), "dim": dim},
        "train": {
            "steps": args.steps,
            "batch": args.batch,
            "final_loss": float(np.mean(losses[-LOG_EVERY:])) if losses else None,
            "steps_per_s": args.steps / train_seconds if train_seconds > 0 else None,
        },
        "sample": {
            "solver": args.solver,
            "steps": args.sample_steps,
            "n": args.n_samples,
            "nfe": STAGES[args.solver] * args.sample_steps,
            "points_per_s": args.n_samples / sample_seconds if sample_seconds > 0 else None,
        },
        "seconds": {"train": train_seconds, "sample": sample_seconds},
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
