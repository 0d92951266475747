#!/usr/bin/python3
"""The probability-path comparison of configs/paths/: the same data, model and budget
trained on the condot (OT), vp (diffusion) and cosine paths, and condot with minibatch
optimal-transport coupling. One table: final training loss, W2 of 2000 samples against
the held-out points and held-out NLL at fixed NFE (euler with 10, 20, 50 and 100 steps)
and with dopri5, and how straight the sampling paths are.

    /usr/bin/python3 tools/compare_paths.py [--fmcl build/fmcl] [--steps N]

Straightness is measured on the trajectories each run saves (rk4, 100 steps, a state every
5 steps): the mean over points of the path length divided by the distance between its ends
(1 for a straight line), and Liu et al.'s S = E integral |v - (x1 - x0)|^2 dt estimated
from the saved segments (0 for a straight line at constant speed).
"""
import argparse
import csv
import glob
import json
import os
import re
import subprocess
import sys

import numpy as np

from pointsets import points, read_csv, w2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOLVERS = [("euler", 10), ("euler", 20), ("euler", 50), ("euler", 100), ("dopri5", 0)]


def run(cmd):
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout}")
    return result.stdout


def nfe_of(text):
    match = re.search(r"NFE (\d+)", text)
    return int(match.group(1)) if match else -1


def straightness(path):
    """Path length ratio and Liu et al.'s S from trajectories.csv (t, point, x...)."""
    _, data = read_csv(path)
    times = np.unique(data[:, 0])
    xs = np.stack([data[data[:, 0] == t][:, 2:] for t in times])  # (T, n, dim)
    steps = np.diff(xs, axis=0)                                      # (T - 1, n, dim)
    dt = np.diff(times)[:, None, None]
    chord = xs[-1] - xs[0]
    length = np.linalg.norm(steps, axis=2).sum(axis=0)
    ratio = float(np.mean(length / np.maximum(np.linalg.norm(chord, axis=1), 1e-9)))
    s = float(np.mean(((steps / dt - chord[None]) ** 2).sum(axis=2) * dt[:, :, 0]) * (len(times) - 1))
    return ratio, s


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fmcl", default=os.path.join(ROOT, "build", "fmcl"))
    p.add_argument("--configs", default=os.path.join(ROOT, "configs", "paths"))
    p.add_argument("--steps", type=int, default=0, help="training steps (0: the configs')")
    p.add_argument("--work", default="/tmp/fmcl-paths")
    args = p.parse_args()
    rows = []
    for config in sorted(glob.glob(os.path.join(args.configs, "*.json"))):
        name = os.path.splitext(os.path.basename(config))[0]
        run_dir = os.path.join(args.work, name)
        cmd = [args.fmcl, "--config", config, "--set", f"output.dir={run_dir}",
               "--set", "eval.likelihood=false", "--set", "output.plots=false", "--quiet",
               "--overwrite"]
        if args.steps:
            cmd += ["--set", f"train.steps={args.steps}"]
        run(cmd)
        summary = json.load(open(os.path.join(run_dir, "summary.json")))
        loss = summary["train"]["final_loss"]
        ratio, s = straightness(os.path.join(run_dir, "trajectories.csv"))
        test = points(os.path.join(run_dir, "test.csv"))
        ckpt = os.path.join(run_dir, "model.fmck")
        for solver, steps in SOLVERS:
            out = os.path.join(run_dir, f"samples-{solver}{steps}.csv")
            sample_text = run([args.fmcl, "sample", "--checkpoint", ckpt, "--set", f"sample.solver={solver}",
                               "--set", f"sample.steps={max(steps, 1)}", "--out", out,
                               "--overwrite"])
            lik_text = run([args.fmcl, "likelihood", "--checkpoint", ckpt,
                            "--set", f"eval.solver={solver}", "--set", f"eval.steps={max(steps, 1)}"])
            nll = float(re.search(r"NLL (-?[0-9.]+) nats", lik_text).group(1))
            row = {"path": name, "final_loss": loss, "solver": solver,
                   "steps": steps if steps else "adaptive", "nfe_sample": nfe_of(sample_text),
                   "nfe_likelihood": nfe_of(lik_text), "w2": w2(points(out), test), "nll": nll,
                   "length_ratio": ratio, "straightness_s": s}
            rows.append(row)
            print(f"{name} {solver}{steps or ''}: W2 {row['w2']:.4f}, NLL {nll:.4f}, "
                  f"NFE {row['nfe_sample']}/{row['nfe_likelihood']}", file=sys.stderr, flush=True)

    os.makedirs(args.work, exist_ok=True)
    with open(os.path.join(args.work, "paths.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| path | final loss | length ratio | S | solver | NFE (sample / likelihood) | W2 | NLL (nats) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        solver = r["solver"] + (f" {r['steps']}" if r["solver"] != "dopri5" else "")
        lines.append(f"| {r['path']} | {r['final_loss']:.4f} | {r['length_ratio']:.4f} | "
                     f"{r['straightness_s']:.4f} | {solver} | {r['nfe_sample']} / "
                     f"{r['nfe_likelihood']} | {r['w2']:.4f} | {r['nll']:.4f} |")
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(args.work, "paths.md"), "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
