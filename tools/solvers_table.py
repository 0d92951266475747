#!/usr/bin/python3
"""Solvers at equal cost: sample quality and held-out likelihood of fmcl and of the PyTorch
reference (tools/reference_torch.py) with euler, midpoint, rk4 at 100 evaluations and
adaptive dopri5, on one trained model per side and data set.

    /usr/bin/python3 tools/solvers_table.py                                  # full table
    /usr/bin/python3 tools/solvers_table.py --steps 300 --datasets moons     # smoke run

For every data set and seed: `fmcl data` exports the points; `fmcl train` trains the
reference recipe (the config defaults, built-in evaluation off) and the reference trains
on the exported training points with the same seed and saves its model. Then, for each
solver, both sides
  - sample 2000 points (`fmcl sample`; reference_torch.py --load-model) and report the NFE;
  - compute the held-out log-likelihood of the 2000 held-out points with the same solver
    and steps (`fmcl likelihood`; reference_torch.py --likelihood): [x, l] integrated from
    t = 1 to 0 with the exact divergence, NLL = -mean log q;
and the samples are scored against the held-out points with
  - W2: the exact 2-Wasserstein distance, sqrt(mean squared distance under the optimal
    assignment; scipy's linear_sum_assignment), as tools/quality.py;
  - energy: the energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| (Euclidean), with the
    V-statistic mean over all pairs for the cross term and U-statistics (means over pairs
    i != j) for the within-set terms: the estimator of fmcl's metrics (fm_metrics_energy),
    applied here, in double precision, to both sides' samples alike.
The noise floor of both metrics at this sample size (held-out split against an independent
draw, `fmcl data` with seed + 1000, as quality.py) goes into the CSV and the caption.

PyTorch runs with 1 thread and OPENBLAS_CORETYPE=SkylakeX, as in quality.py. Results go
to WORK/solvers.md and WORK/solvers.csv (one row per data set, seed and solver); progress
lines go to stderr. The exit status is 1 when a run failed.
"""
import argparse
import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np

from pointsets import energy, points, w2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "tools", "reference_torch.py")
TORCH_ENV = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OMP_NUM_THREADS="1")
BASELINE_SEED_OFFSET = 1000
N_POINTS = 2000  # samples per solver; the held-out split of `fmcl data` has as many
# (solver, fixed steps): 100 velocity evaluations each; dopri5 takes --rtol/--atol.
FIXED = [("euler", 100), ("midpoint", 50), ("rk4", 25)]
FIELDS = ["dataset", "seed", "solver", "steps", "rtol", "atol",
          "fmcl_sample_nfe", "torch_sample_nfe", "fmcl_likelihood_nfe", "torch_likelihood_nfe",
          "fmcl_w2", "torch_w2", "baseline_w2", "fmcl_energy", "torch_energy",
          "baseline_energy", "fmcl_nll", "torch_nll", "fmcl_final_loss", "torch_final_loss",
          "fmcl_seconds", "torch_seconds", "error"]


class RunError(Exception):
    pass


def run(cmd, env=None):
    """Runs a command under nice; returns (seconds, combined output); raises on failure."""
    started = time.time()
    result = subprocess.run(["nice", *cmd], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise RunError(f"exit {result.returncode}: {' '.join(cmd)}\n{result.stdout.strip()}")
    return time.time() - started, result.stdout


def nfe_of(output, cmd):
    """The NFE that fmcl sample/likelihood report on stderr."""
    found = re.findall(r"NFE (\d+)", output)
    if not found:
        raise RunError(f"no NFE in the output of {cmd}:\n{output.strip()}")
    return int(found[-1])


def solver_settings(args, solver, steps):
    """`fmcl sample` --set options, `fmcl likelihood` --set options and reference_torch.py
    options of one solver (steps None: dopri5 with --rtol/--atol)."""
    if solver == "dopri5":
        keys = {"solver": "dopri5", "rtol": args.rtol, "atol": args.atol}
        ref = ["--solver", "dopri5", "--rtol", str(args.rtol), "--atol", str(args.atol)]
    else:
        keys = {"solver": solver, "steps": steps}
        ref = ["--solver", solver, "--sample-steps", str(steps)]
    sample_set = [a for k, v in keys.items() for a in ("--set", f"sample.{k}={v}")]
    eval_set = [a for k, v in keys.items() for a in ("--set", f"eval.{k}={v}")]
    return sample_set, eval_set, ref


def one_run(args, dataset, seed):
    """Data export, one training per side, then every solver: the rows of one (data set, seed)."""
    work = os.path.join(args.work, f"{dataset}-{seed}")
    shutil.rmtree(work, ignore_errors=True)  # never read stale samples
    data_dir, base_dir, fm_dir, torch_dir = (
        os.path.join(work, d) for d in ("data", "baseline", "fmcl", "torch"))
    data_set = ["--set", f"data.name={dataset}"]
    run([args.fmcl, "data", *data_set, "--set", f"seed={seed}", "--out", data_dir, "--quiet",
         "--overwrite"])
    run([args.fmcl, "data", *data_set, "--set", f"seed={seed + BASELINE_SEED_OFFSET}",
         "--set", "data.n_train=1", "--out", base_dir, "--quiet", "--overwrite"])
    test_csv = os.path.join(data_dir, "test.csv")
    test = points(test_csv)
    if len(test) != N_POINTS:
        raise RunError(f"{test_csv} holds {len(test)} points, expected {N_POINTS}")
    baseline = points(os.path.join(base_dir, "test.csv"))
    baseline_w2, baseline_energy = w2(test, baseline), energy(test, baseline)

    fm_train_s, _ = run([args.fmcl, "train", *data_set, "--set", f"seed={seed}",
                         "--set", f"train.steps={args.steps}", "--set", f"output.dir={fm_dir}",
                         "--set", "eval.likelihood=false", "--set", "eval.metrics=false",
                         "--set", "output.plots=false", "--set", "sample.n=0", "--quiet",
                         "--overwrite"])
    fm_test = points(os.path.join(fm_dir, "test.csv"))
    if fm_test.shape != test.shape or not np.allclose(fm_test, test, rtol=1e-6, atol=1e-6):
        raise RunError(f"{fm_dir}/test.csv differs from the `fmcl data` export {data_dir}")
    model_pt = os.path.join(torch_dir, "model.pt")
    torch_train_s, _ = run([sys.executable, REFERENCE,
                            "--train", os.path.join(data_dir, "train.csv"), "--test", test_csv,
                            "--steps", str(args.steps), "--n-samples", "0",
                            "--seed", str(seed), "--threads", "1", "--out", torch_dir,
                            "--save-model", model_pt], env=TORCH_ENV)
    fm_loss = json.load(open(os.path.join(fm_dir, "summary.json")))["train"]["final_loss"]
    torch_loss = json.load(open(os.path.join(torch_dir, "summary.json")))["train"]["final_loss"]
    print(f"{dataset} seed {seed}: trained, final loss fmcl {fm_loss:.4f} / PyTorch "
          f"{torch_loss:.4f} ({fm_train_s:.0f} s / {torch_train_s:.0f} s)",
          file=sys.stderr, flush=True)

    checkpoint = os.path.join(fm_dir, "model.fmck")
    rows = []
    for solver, steps in FIXED + [("dopri5", None)]:
        tag = solver if steps is None else f"{solver}x{steps}"
        sample_set, eval_set, ref = solver_settings(args, solver, steps)
        fm_samples_csv = os.path.join(fm_dir, f"samples-{tag}.csv")
        fm_logp_csv = os.path.join(fm_dir, f"likelihood-{tag}.csv")
        cmd = [args.fmcl, "sample", "--checkpoint", checkpoint, "--set", f"sample.n={N_POINTS}",
               *sample_set, "--out", fm_samples_csv, "--overwrite"]
        s1, out = run(cmd)
        fm_sample_nfe = nfe_of(out, "fmcl sample")
        cmd = [args.fmcl, "likelihood", "--checkpoint", checkpoint, *eval_set,
               "--out", fm_logp_csv, "--overwrite"]
        s2, out = run(cmd)
        fm_likelihood_nfe = nfe_of(out, "fmcl likelihood")
        fm_logp = np.loadtxt(fm_logp_csv, skiprows=1, ndmin=1)
        if len(fm_logp) != N_POINTS:
            raise RunError(f"{fm_logp_csv}: {len(fm_logp)} values for {N_POINTS} points")
        fm_samples = points(fm_samples_csv)

        out_dir = os.path.join(torch_dir, tag)
        s3, _ = run([sys.executable, REFERENCE, "--load-model", model_pt, "--test", test_csv,
                     *ref, "--n-samples", str(N_POINTS), "--likelihood", "--seed", str(seed),
                     "--threads", "1", "--out", out_dir], env=TORCH_ENV)
        torch_summary = json.load(open(os.path.join(out_dir, "summary.json")))
        torch_samples = points(os.path.join(out_dir, "samples.csv"))
        for name, x in (("fmcl", fm_samples), ("PyTorch", torch_samples)):
            if x.shape != test.shape or not np.isfinite(x).all():
                raise RunError(f"{name} {tag}: samples of shape {x.shape}, "
                               f"{np.isfinite(x).all() and 'finite' or 'not all finite'}")
        row = {
            "dataset": dataset, "seed": seed, "solver": solver,
            "steps": steps if steps is not None else "",
            "rtol": args.rtol if steps is None else "", "atol": args.atol if steps is None else "",
            "fmcl_sample_nfe": fm_sample_nfe,
            "torch_sample_nfe": torch_summary["sample"]["nfe"],
            "fmcl_likelihood_nfe": fm_likelihood_nfe,
            "torch_likelihood_nfe": torch_summary["likelihood"]["nfe"],
            "fmcl_w2": w2(test, fm_samples), "torch_w2": w2(test, torch_samples),
            "baseline_w2": baseline_w2,
            "fmcl_energy": energy(fm_samples, test), "torch_energy": energy(torch_samples, test),
            "baseline_energy": baseline_energy,
            "fmcl_nll": float(-fm_logp.mean()), "torch_nll": torch_summary["likelihood"]["nll"],
            "fmcl_final_loss": fm_loss, "torch_final_loss": torch_loss,
            "fmcl_seconds": s1 + s2, "torch_seconds": s3, "error": "",
        }
        rows.append(row)
        print(f"{dataset} seed {seed} {tag}: NFE {row['fmcl_sample_nfe']}/"
              f"{row['torch_sample_nfe']} sampling, {row['fmcl_likelihood_nfe']}/"
              f"{row['torch_likelihood_nfe']} likelihood; W2 {row['fmcl_w2']:.4f}/"
              f"{row['torch_w2']:.4f}; energy {row['fmcl_energy']:.5f}/"
              f"{row['torch_energy']:.5f}; NLL {row['fmcl_nll']:.4f}/{row['torch_nll']:.4f} "
              f"({s1 + s2:.0f} s / {s3:.0f} s)", file=sys.stderr, flush=True)
    return rows


def guarded_run(args, dataset, seed):
    """one_run, with a failure kept as one row per solver (values NaN) so the table reports."""
    try:
        return one_run(args, dataset, seed)
    except (RunError, OSError, ValueError, KeyError) as e:
        print(f"{dataset} seed {seed}: FAILED: {e}", file=sys.stderr, flush=True)
        rows = []
        for solver, steps in FIXED + [("dopri5", None)]:
            row = {name: math.nan for name in FIELDS}
            row.update(dataset=dataset, seed=seed, solver=solver,
                       steps=steps if steps is not None else "",
                       error=str(e).splitlines()[0])
            rows.append(row)
        return rows


def cell(rows, key, fmt):
    """Mean over seeds, with ± the sample std when there are several."""
    values = np.asarray([r[key] for r in rows], dtype=float)
    if len(values) > 1:
        return f"{fmt.format(values.mean())} ± {fmt.format(values.std(ddof=1))}"
    return fmt.format(values.mean())


def nfe_cell(rows, key):
    values = np.asarray([r[key] for r in rows], dtype=float)
    if np.isnan(values).any():
        return "nan"
    mean = values.mean()
    return f"{mean:.0f}" if mean == round(mean) else f"{mean:.1f}"


def table(args, datasets, seeds, rows):
    """The Markdown report."""
    tol = f"rtol = atol = {args.rtol:g}" if args.rtol == args.atol else \
        f"rtol {args.rtol:g}, atol {args.atol:g}"
    lines = [
        f"Solvers at equal NFE (euler 100 steps, midpoint 50, rk4 25) and dopri5 ({tol}); "
        f"one model per side and data set, {args.steps} training steps, seed"
        f"{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))}"
        f"{' (mean ± std)' if len(seeds) > 1 else ''}. {N_POINTS} samples against the "
        f"{N_POINTS} held-out points: exact W2 and the energy distance (U-statistic "
        f"within-set terms); NLL of the held-out points in nats (2-D, exact divergence), "
        f"integrated with the same solver. Each cell: fmcl / PyTorch.", "",
        "| data set | solver | NFE sampling | NFE likelihood | W2 | energy | NLL |",
        "| --- | --- | --- | --- | --- | --- | --- |"]
    for d in datasets:
        for solver, steps in FIXED + [("dopri5", None)]:
            mine = [r for r in rows if r["dataset"] == d and r["solver"] == solver]
            name = solver if steps is None else f"{solver} ×{steps}"
            lines.append(
                f"| {d} | {name} | {nfe_cell(mine, 'fmcl_sample_nfe')} / "
                f"{nfe_cell(mine, 'torch_sample_nfe')} | {nfe_cell(mine, 'fmcl_likelihood_nfe')}"
                f" / {nfe_cell(mine, 'torch_likelihood_nfe')} | "
                f"{cell(mine, 'fmcl_w2', '{:.4f}')} / {cell(mine, 'torch_w2', '{:.4f}')} | "
                f"{cell(mine, 'fmcl_energy', '{:.5f}')} / {cell(mine, 'torch_energy', '{:.5f}')}"
                f" | {cell(mine, 'fmcl_nll', '{:.3f}')} / {cell(mine, 'torch_nll', '{:.3f}')} |")
    lines.append("")
    floors = []
    for d in datasets:
        mine = [r for r in rows if r["dataset"] == d and r["solver"] == "dopri5"]
        floors.append(f"{d} W2 {cell(mine, 'baseline_w2', '{:.4f}')}, energy "
                      f"{cell(mine, 'baseline_energy', '{:.5f}')} (final training loss "
                      f"{cell(mine, 'fmcl_final_loss', '{:.3f}')} / "
                      f"{cell(mine, 'torch_final_loss', '{:.3f}')})")
    lines.append("Noise floor (held-out split against an independent draw of the same size): "
                 + "; ".join(floors) + ".")
    failed = sorted({(r["dataset"], r["seed"]) for r in rows if r["error"]})
    if failed:
        lines.append("")
        lines.append("FAILED runs: " + ", ".join(f"{d} seed {s}" for d, s in failed) +
                     " (see solvers.csv).")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fmcl", default=os.path.join(ROOT, "build", "fmcl"), help="fmcl binary")
    p.add_argument("--datasets", default="8gaussians,moons,checkerboard,2spirals")
    p.add_argument("--seeds", default="0", help="comma-separated")
    p.add_argument("--steps", type=int, default=5000, help="training steps, both sides")
    p.add_argument("--rtol", type=float, default=1e-5, help="dopri5's relative tolerance")
    p.add_argument("--atol", type=float, default=1e-5, help="dopri5's absolute tolerance")
    p.add_argument("--work", default="/tmp/fmcl-solvers", help="run folders and the report")
    args = p.parse_args()
    args.fmcl = os.path.abspath(args.fmcl)
    seeds = [int(s) for s in args.seeds.split(",")]
    datasets = args.datasets.split(",")
    if not os.access(args.fmcl, os.X_OK):
        sys.exit(f"no fmcl binary at {args.fmcl} (build it, or pass --fmcl)")
    os.makedirs(args.work, exist_ok=True)

    rows = []
    for d in datasets:
        for s in seeds:
            rows += guarded_run(args, d, s)

    with open(os.path.join(args.work, "solvers.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    report = table(args, datasets, seeds, rows)
    print(report)
    with open(os.path.join(args.work, "solvers.md"), "w") as f:
        f.write(report + "\n")
    sys.exit(1 if any(r["error"] for r in rows) else 0)


if __name__ == "__main__":
    main()
