#!/usr/bin/python3
"""Straight paths and few steps: sample quality at NFE 1, 2, 4, 8 and 100 of five models per
data set, each trained for the same number of steps (--steps; the pairs a reflow or a
distillation trains on come from its teacher, whose own training is not counted again):

  condot       the reference recipe (independent pairs, sigma_min 1e-4)
  ot           the same with the minibatch OT coupling (path.coupling ot, on the device)
  1-rectified  rectified flow: independent pairs, sigma_min 0 (the teacher of the next two)
  2-rectified  `fmcl reflow` of the 1-rectified flow
  distilled    `fmcl distill` of the 2-rectified flow (trained at t = 0 only)

    /usr/bin/python3 tools/few_steps.py                              # the README's table
    /usr/bin/python3 tools/few_steps.py --steps 300 --datasets moons # smoke run

Every model samples 2000 points with Euler at 1, 2, 4, 8 and 100 steps (`fmcl sample`;
NFE = steps) and is scored against the 2000 held-out points of its run by the exact W2
(tools/pointsets.py). S is the straightness of its paths, Liu et al.'s
E sum_k dt |(x1 - x0) - v(x_k, t_k)|^2 over Euler's 100 steps (printed by `fmcl sample`
with sample.save_every 1). NLL is the run's held-out negative log-likelihood (nats;
dopri5, exact divergence), from its summary.json; training seconds from the same file
(the optimizer steps; a reflow's pairs, made by its teacher before, are not counted).
Results go to WORK/few_steps.md and .csv.
"""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys

from pointsets import points, w2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NFES = [1, 2, 4, 8, 100]
N_POINTS = 2000
MODELS = ["condot", "ot", "1-rectified", "2-rectified", "distilled"]


def run(cmd, cwd):
    result = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"few_steps: exit {result.returncode}: {' '.join(cmd)}\n{result.stdout}")
    return result.stdout


def train_all(args, dataset, work):
    """The five run folders of one data set (relative to work)."""
    base = ["--set", f"data.name={dataset}", "--set", f"train.steps={args.steps}",
            "--set", "output.plots=false", "--quiet"]
    folders = {}
    for model, extra in [("condot", []), ("ot", ["--set", "path.coupling=ot"]),
                         ("1-rectified", ["--set", "path.sigma_min=0"])]:
        name = f"{dataset}-{model}"
        run([args.fmcl, "train", "--set", f"name={name}", *base, *extra, "--overwrite"], work)
        folders[model] = f"runs/{name}"
    teacher = folders["1-rectified"] + "/model.fmck"
    run([args.fmcl, "reflow", "--checkpoint", teacher, *base[2:], "--overwrite"], work)
    folders["2-rectified"] = f"runs/{dataset}-1-rectified-reflow2"
    run([args.fmcl, "distill", "--checkpoint", folders["2-rectified"] + "/model.fmck",
         *base[2:], "--overwrite"], work)
    folders["distilled"] = f"runs/{dataset}-1-rectified-reflow2-distill"
    return folders


def judge(args, work, folder):
    """W2 per NFE, S, NLL and training seconds of one run folder."""
    test = points(os.path.join(work, folder, "test.csv"))
    row = {}
    for nfe in NFES:
        out = os.path.join(work, folder, f"euler{nfe}.csv")
        keys = ["--set", "sample.solver=euler", "--set", f"sample.steps={nfe}",
                "--set", f"sample.n={N_POINTS}"]
        if nfe == 100:
            keys += ["--set", "sample.save_every=1"]
        text = run([args.fmcl, "sample", "--checkpoint", f"{folder}/model.fmck", *keys,
                    "--out", out, "--overwrite"], work)
        row[f"w2_nfe{nfe}"] = w2(test, points(out))
        if nfe == 100:
            row["straightness"] = float(re.search(r"straightness S ([0-9.eE+-]+)", text).group(1))
    with open(os.path.join(work, folder, "summary.json")) as f:
        summary = json.load(f)
    lik = summary.get("likelihood") or {}  # none for a distilled model (t = 0 only)
    row["nll"] = lik.get("nll_nats")
    row["train_s"] = summary["seconds"]["train"] + summary["seconds"].get("first_step", 0)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--datasets", default="8gaussians,moons,checkerboard")
    parser.add_argument("--fmcl", default=os.path.join(ROOT, "build", "fmcl"))
    parser.add_argument("--work", default="/tmp/fmcl-few-steps")
    args = parser.parse_args()
    args.fmcl = os.path.abspath(args.fmcl)
    os.makedirs(args.work, exist_ok=True)
    rows = []
    for dataset in args.datasets.split(","):
        work = os.path.join(args.work, dataset)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        print(f"{dataset}: training {len(MODELS)} models of {args.steps} steps", file=sys.stderr)
        folders = train_all(args, dataset, work)
        for model in MODELS:
            row = {"dataset": dataset, "model": model, **judge(args, work, folders[model])}
            rows.append(row)
            print(f"{dataset} {model}: " + ", ".join(
                f"W2@{n} {row[f'w2_nfe{n}']:.4f}" for n in NFES) +
                f", S {row['straightness']:.4f}", file=sys.stderr)
    fields = ["dataset", "model", *[f"w2_nfe{n}" for n in NFES], "straightness", "nll", "train_s"]
    with open(os.path.join(args.work, "few_steps.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"W2 against {N_POINTS} held-out points at NFE 1, 2, 4, 8, 100 (Euler), "
             f"straightness S, held-out NLL (nats) and training seconds; {args.steps} "
             "training steps per model.", "",
             "| data set | model | " + " | ".join(f"W2 NFE {n}" for n in NFES) +
             " | S | NLL | train s |",
             "|---|---|" + "---|" * (len(NFES) + 3)]
    for r in rows:
        nll = f"{r['nll']:.3f}" if r["nll"] is not None else "-"
        lines.append(f"| {r['dataset']} | {r['model']} | " +
                     " | ".join(f"{r[f'w2_nfe{n}']:.3f}" for n in NFES) +
                     f" | {r['straightness']:.4f} | {nll} | {r['train_s']:.0f} |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(args.work, "few_steps.md"), "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
