#!/usr/bin/python3
"""Sample quality of fmcl against the PyTorch reference (tools/reference_torch.py) on the
same recipe, data and seeds: the exact 2-Wasserstein distance between the held-out points
and each side's generated points, as mean and spread over seeds.

    /usr/bin/python3 tools/quality.py                                          # full study
    /usr/bin/python3 tools/quality.py --steps 300 --seeds 0 --datasets moons   # smoke run

For every data set and seed: `fmcl data` exports the points, `fmcl train` trains and
samples with the reference recipe (the config defaults), the reference trains on the
exported training points with the same seed, and W2 = sqrt(mean squared distance under the
optimal assignment) is computed against the held-out split. The baseline column is W2
between the held-out split and an independent draw of the same size (`fmcl data` with
seed + 1000): the noise floor of the metric at this sample size. A data set passes when
fmcl's mean W2 is at most --tolerance above PyTorch's.

PyTorch runs with 1 thread and OPENBLAS_CORETYPE=SkylakeX: its fastest single-thread
setting on this machine's AVX-512 CPU, the fair one for the steps/s columns of the CSV.
W2 does not depend on it. Results go to WORK/quality.md and WORK/quality.csv; the exit
status is 1 when a data set fails or a run errs.
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np

from pointsets import points, w2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "tools", "reference_torch.py")
TORCH_ENV = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OMP_NUM_THREADS="1")
BASELINE_SEED_OFFSET = 1000
FIELDS = ["dataset", "seed", "fmcl_w2", "torch_w2", "baseline_w2", "fmcl_final_loss",
          "torch_final_loss", "fmcl_steps_per_s", "torch_steps_per_s", "fmcl_seconds",
          "torch_seconds", "error"]


class RunError(Exception):
    pass


def run(cmd, env=None):
    """Runs a command; its combined output goes into the error when it fails."""
    started = time.time()
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    if result.returncode != 0:
        raise RunError(f"exit {result.returncode}: {' '.join(cmd)}\n{result.stdout.strip()}")
    return time.time() - started


def one_run(args, dataset, seed):
    """Data export, fmcl, PyTorch and the three W2 values of one (data set, seed)."""
    work = os.path.join(args.work, f"{dataset}-{seed}")
    shutil.rmtree(work, ignore_errors=True)  # never read a stale samples.csv
    data_dir, base_dir, fm_dir, torch_dir = (
        os.path.join(work, d) for d in ("data", "baseline", "fmcl", "torch"))
    data_set = ["--set", f"data.name={dataset}"]
    run([args.fmcl, "data", *data_set, "--set", f"seed={seed}", "--out", data_dir, "--quiet",
         "--overwrite"])
    run([args.fmcl, "data", *data_set, "--set", f"seed={seed + BASELINE_SEED_OFFSET}",
         "--set", "data.n_train=1", "--out", base_dir, "--quiet", "--overwrite"])
    test = points(os.path.join(data_dir, "test.csv"))
    fm_seconds = run([args.fmcl, "train", *data_set, "--set", f"seed={seed}",
                      "--set", f"train.steps={args.steps}", "--set", f"output.dir={fm_dir}",
                      "--quiet", "--overwrite"])
    torch_seconds = run([sys.executable, REFERENCE,
                         "--train", os.path.join(data_dir, "train.csv"),
                         "--test", os.path.join(data_dir, "test.csv"),
                         "--steps", str(args.steps), "--n-samples", str(len(test)),
                         "--seed", str(seed), "--threads", "1", "--out", torch_dir],
                        env=TORCH_ENV)

    fm_test = points(os.path.join(fm_dir, "test.csv"))
    if fm_test.shape != test.shape or not np.allclose(fm_test, test, rtol=1e-6, atol=1e-6):
        raise RunError(f"{fm_dir}/test.csv differs from the `fmcl data` export {data_dir}")
    fm_samples = points(os.path.join(fm_dir, "samples.csv"))
    torch_samples = points(os.path.join(torch_dir, "samples.csv"))
    if fm_samples.shape != test.shape:
        raise RunError(f"fmcl wrote {fm_samples.shape} samples for {test.shape} held-out points")
    fm_summary = json.load(open(os.path.join(fm_dir, "summary.json")))
    torch_summary = json.load(open(os.path.join(torch_dir, "summary.json")))
    return {
        "dataset": dataset, "seed": seed,
        "fmcl_w2": w2(test, fm_samples),
        "torch_w2": w2(test, torch_samples),
        "baseline_w2": w2(test, points(os.path.join(base_dir, "test.csv"))),
        "fmcl_final_loss": fm_summary["train"]["final_loss"],
        "torch_final_loss": torch_summary["train"]["final_loss"],
        "fmcl_steps_per_s": fm_summary["train"]["steps_per_s"],
        "torch_steps_per_s": torch_summary["train"]["steps_per_s"],
        "fmcl_seconds": fm_seconds, "torch_seconds": torch_seconds, "error": "",
    }


def guarded_run(args, dataset, seed):
    """one_run, with a failure kept as a row (W2 NaN) so a long study still reports."""
    try:
        row = one_run(args, dataset, seed)
        print(f"{dataset} seed {seed}: W2 fmcl {row['fmcl_w2']:.4f}, PyTorch "
              f"{row['torch_w2']:.4f}, baseline {row['baseline_w2']:.4f}; loss "
              f"{row['fmcl_final_loss']:.4f} / {row['torch_final_loss']:.4f}; "
              f"{row['fmcl_seconds']:.0f} s / {row['torch_seconds']:.0f} s",
              file=sys.stderr, flush=True)
    except (RunError, OSError, ValueError, KeyError) as e:
        print(f"{dataset} seed {seed}: FAILED: {e}", file=sys.stderr, flush=True)
        row = {name: math.nan for name in FIELDS}
        row.update(dataset=dataset, seed=seed, error=str(e).splitlines()[0])
    return row


def mean_std(values):
    """Mean and sample standard deviation; NaN when a run failed."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def table(args, datasets, rows):
    """The Markdown report and whether every data set passed."""
    lines = [f"W2 between the held-out split and as many samples, mean ± std over seeds "
             f"{args.seeds}; {args.steps} training steps; pass: fmcl - PyTorch <= "
             f"{args.tolerance}.", "",
             "| data set | fmcl W2 | PyTorch W2 | fmcl - PyTorch | held-out vs fresh draw | result |",
             "| --- | --- | --- | --- | --- | --- |"]
    all_ok = True
    for d in datasets:
        mine = [r for r in rows if r["dataset"] == d]
        errors = sum(1 for r in mine if r["error"])
        f_mean, f_std = mean_std([r["fmcl_w2"] for r in mine])
        t_mean, t_std = mean_std([r["torch_w2"] for r in mine])
        b_mean, b_std = mean_std([r["baseline_w2"] for r in mine])
        ok = not errors and f_mean - t_mean <= args.tolerance
        all_ok &= ok
        result = "pass" if ok else f"FAIL ({errors} runs failed)" if errors else "FAIL"
        lines.append(f"| {d} | {f_mean:.4f} ± {f_std:.4f} | {t_mean:.4f} ± {t_std:.4f} | "
                     f"{f_mean - t_mean:+.4f} | {b_mean:.4f} ± {b_std:.4f} | {result} |")
    return "\n".join(lines), all_ok


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fmcl", default=os.path.join(ROOT, "build", "fmcl"), help="fmcl binary")
    p.add_argument("--datasets", default="8gaussians,moons,checkerboard,2spirals")
    p.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated")
    p.add_argument("--steps", type=int, default=5000, help="training steps, both sides")
    p.add_argument("--tolerance", type=float, default=0.03)
    p.add_argument("--work", default="/tmp/fmcl-quality", help="run folders and the report")
    p.add_argument("--jobs", type=int, default=1, help="(data set, seed) runs at once")
    args = p.parse_args()
    args.fmcl = os.path.abspath(args.fmcl)
    seeds = [int(s) for s in args.seeds.split(",")]
    datasets = args.datasets.split(",")
    if not os.access(args.fmcl, os.X_OK):
        sys.exit(f"no fmcl binary at {args.fmcl} (build it, or pass --fmcl)")
    os.makedirs(args.work, exist_ok=True)

    jobs = [(d, s) for d in datasets for s in seeds]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda job: guarded_run(args, *job), jobs))

    with open(os.path.join(args.work, "quality.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    report, ok = table(args, datasets, rows)
    print(report)
    with open(os.path.join(args.work, "quality.md"), "w") as f:
        f.write(report + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
