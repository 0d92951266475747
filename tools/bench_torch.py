#!/usr/bin/python3
"""Speed of fmcl against PyTorch on the same model, batch and data, in one run: training
steps/s, sampling points/s (rk4, 25 steps = NFE 100, 10000 points) and training GFLOP/s of
both, as ratios fmcl / PyTorch.

    /usr/bin/python3 tools/bench_torch.py                                  # full measurement
    /usr/bin/python3 tools/bench_torch.py --train-steps 100 --repeat 1     # plumbing check

Shapes (--shapes): toy = 8gaussians (dimension 2), hidden [256, 256, 256], silu, batch 512;
wide = a seeded mixture of 8 Gaussians in 64-D (100000 rows, float32, written once to
WORK/wide-data.npy), hidden [512, 512, 512], silu, batch 512. Both sides train on the same
points: fmcl's toy set as `fmcl data` exports it, and every row of the NPY file (fmcl with
data.test_fraction=0).

What is measured, per shape and repeat (fmcl and PyTorch alternate, so a change of the
machine's load hits both sides alike; each figure is the median over --repeat runs):
- training steps/s: fmcl's summary.json train.steps_per_s of `fmcl train` (it leaves out
  the first step, which compiles kernels); PyTorch: the same recipe (batch drawn uniformly
  with replacement, x0 ~ N(0, I), t ~ U[0, 1), condot x_t = t x1 + (1 - (1 - 1e-4) t) x0,
  loss = batch mean of the squared error summed over dimensions, Adam lr 1e-3), timed
  after --torch-warmup steps. Batch drawing and the optimizer step are inside the timed
  loop on both sides. Both sides train --train-steps steps in all.
- sampling points/s: `fmcl sample --checkpoint RUN/model.fmck --set sample.n=10000
  --set sample.solver=rk4 --set sample.steps=25` ("sampled ... in X s (Y s of it building
  kernels)"): X - Y, leaving out the one-time build of the OpenCL programs (about 0.09 s
  here, from PoCL's cache) as the training figure leaves out the first step; drawing the
  noise and the first launches stay in. PyTorch: rk4 with 25 steps on 10000 points of
  N(0, I) as one state under torch.no_grad(), timed after one warm-up rk4 step of the same
  size.
- training GFLOP/s = 6 x (multiply-adds of one forward pass per row) x batch x steps/s,
  fmcl's own formula (summary.json train.model_gflops_per_s), and fmcl's share of the
  device's FMA peak as `fmcl bench` measures it (the largest of --repeat measures), or --peak.

Fairness. PyTorch runs in a subprocess of this script with 1 thread and
OPENBLAS_CORETYPE=SkylakeX: OpenBLAS detects this machine's AVX-512 CPU as Cooperlake, and
its SkylakeX kernels are its fastest single-thread setting here (the one used for every
PyTorch speed figure in this repository). The variable is read when OpenBLAS loads, hence
the subprocess. torch.set_num_threads(1) does not reach OpenBLAS's own thread pool (Debian's
libopenblas0-pthread), so OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 are set as well, and
the worker checks its CPU time against its wall time. fmcl uses its default device (PoCL
on this CPU: both cores). fmcl's evaluation, plots and samples are off in the training runs,
and it reads the loss once, at the end (train.log_every = train.steps).

Sanity: the final losses (the mean over all training steps, on both sides) must agree to
within --loss-tolerance (relative), and both sides' samples must be finite; otherwise the
script says so and exits with status 1, so that nobody benchmarks a broken run.

Output: a Markdown table on stdout and in WORK/bench.md, every figure and each repeat's
values in WORK/bench.csv, progress on stderr.
"""
import argparse
import csv
import json
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")
SIGMA_MIN = 1e-4
LR = 1e-3
SAMPLE_N = 10000
SAMPLE_STEPS = 25  # rk4: NFE 100
TORCH_ENV = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OPENBLAS_NUM_THREADS="1",
                 OMP_NUM_THREADS="1")
SHAPES = {
    "toy": {"dim": 2, "hidden": [256, 256, 256], "activation": "silu", "batch": 512,
            "steps": 1000, "data": "8gaussians"},
    "wide": {"dim": 64, "hidden": [512, 512, 512], "activation": "silu", "batch": 512,
             "steps": 300, "data": "npy"},
}
WIDE_ROWS, WIDE_COMPONENTS = 100000, 8
FIELDS = ["shape", "dim", "hidden", "batch", "train_steps", "repeat",
          "fmcl_steps_per_s", "torch_steps_per_s", "steps_ratio",
          "fmcl_points_per_s", "torch_points_per_s", "points_ratio",
          "fmcl_train_gflops", "torch_train_gflops", "peak_gflops", "fmcl_peak_share",
          "fmcl_sample_gflops", "torch_sample_gflops", "macs_per_row",
          "fmcl_final_loss", "torch_final_loss", "loss_ok",
          "fmcl_steps_per_s_all", "torch_steps_per_s_all",
          "fmcl_points_per_s_all", "torch_points_per_s_all", "torch_cpu_per_wall"]


class RunError(Exception):
    pass


def say(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, env=None):
    """Runs a command; returns its combined output, or raises with it when it fails."""
    say("  $ " + " ".join(shlex.quote(c) for c in cmd))
    result = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    if result.returncode != 0:
        raise RunError(f"exit {result.returncode}: {' '.join(cmd)}\n{result.stdout.strip()}")
    return result.stdout


def macs_per_row(shape):
    """Multiply-adds of one forward pass for one row: the input is [x, t]."""
    widths = [shape["dim"] + 1] + shape["hidden"] + [shape["dim"]]
    return sum(a * b for a, b in zip(widths[:-1], widths[1:]))


# ---------------------------------------------------------------------------- data


def wide_data(path, seed):
    """A seeded mixture of 8 Gaussians in 64-D: centres N(0, 4 I), each component's spread
    0.5 per coordinate, equal weights; 100000 rows of float32."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((WIDE_COMPONENTS, 64))
    which = rng.integers(0, WIDE_COMPONENTS, WIDE_ROWS)
    x = centres[which] + 0.5 * rng.standard_normal((WIDE_ROWS, 64))
    tmp = path + ".tmp.npy"
    np.save(tmp, x.astype(np.float32))
    os.replace(tmp, path)


def prepare_data(args, name, shape):
    """fmcl's --set overrides for the data, and the file the PyTorch side reads."""
    if shape["data"] == "npy":
        path = os.path.join(args.work, f"{name}-data-seed{args.seed}.npy")
        if not os.path.exists(path):
            say(f"{name}: writing {path}")
            wide_data(path, args.seed)
        return ["--set", f"data.path={path}", "--set", "data.test_fraction=0"], path
    folder = os.path.join(args.work, f"{name}-data-seed{args.seed}")
    sets = ["--set", f"data.name={shape['data']}"]
    run([args.fmcl, "data"] + sets + ["--set", f"seed={args.seed}", "--out", folder, "--overwrite"])
    return sets, os.path.join(folder, "train.csv")


# ---------------------------------------------------------------------------- fmcl


def fmcl_recipe(shape, steps, seed):
    """The recipe as explicit overrides (not left to fmcl's defaults), and the speed-run
    switches: no evaluation, plots or samples, one loss read at the end, one checkpoint."""
    sets = {
        "seed": seed,
        "model.hidden": "[" + ",".join(str(w) for w in shape["hidden"]) + "]",
        "model.activation": shape["activation"],
        "model.time_features": 0,
        "model.classes": 0,
        "path.scheduler": "condot",
        "path.sigma_min": SIGMA_MIN,
        "path.coupling": "independent",
        "path.sigma": 0,
        "train.batch": shape["batch"],
        "train.steps": steps,
        "train.lr": LR,
        "train.weight_decay": 0,
        "train.lr_schedule": "constant",
        "train.warmup": 0,
        "train.grad_clip": 0,
        "train.ema": 0,
        "train.time_sampling": "uniform",
        "train.log_every": steps,
        "train.checkpoint_every": 0,
        "eval.likelihood": "false",
        "eval.metrics": "false",
        "output.plots": "false",
        "sample.n": 0,
    }
    out = []
    for key, value in sets.items():
        out += ["--set", f"{key}={value}"]
    return out


def fmcl_train(args, data_sets, shape, steps, folder):
    run([args.fmcl, "train", "--quiet", "--overwrite"] + data_sets
        + fmcl_recipe(shape, steps, args.seed) + ["--set", f"output.dir={folder}"])
    with open(os.path.join(folder, "summary.json")) as f:
        return json.load(f)


SAMPLED = re.compile(r"sampled (\d+) points .*\(NFE (\d+)\) in ([0-9.]+) s "
                     r"\(([0-9.]+) s of it building kernels\)")


def fmcl_sample(args, folder):
    """Points/s of `fmcl sample` without its one-time program build (seconds printed to the
    millisecond); the samples must be finite."""
    import numpy as np

    out_csv = os.path.join(folder, "samples-bench.csv")
    text = run([args.fmcl, "sample", "--checkpoint", os.path.join(folder, "model.fmck"),
                "--set", f"sample.n={SAMPLE_N}", "--set", "sample.solver=rk4",
                "--set", f"sample.steps={SAMPLE_STEPS}", "--out", out_csv, "--overwrite"])
    m = SAMPLED.search(text)
    if not m:
        raise RunError(f"fmcl sample: no 'sampled N points ... in X s (Y s of it building "
                       f"kernels)' line in:\n{text}")
    n, nfe = int(m.group(1)), int(m.group(2))
    seconds = float(m.group(3)) - float(m.group(4))
    if n != SAMPLE_N or nfe != 4 * SAMPLE_STEPS:
        raise RunError(f"fmcl sample: {n} points at NFE {nfe}, expected {SAMPLE_N} at "
                       f"{4 * SAMPLE_STEPS}")
    samples = np.loadtxt(out_csv, delimiter=",", skiprows=1, ndmin=2)
    finite = bool(np.isfinite(samples).all()) and samples.shape[0] == SAMPLE_N
    return (n / seconds if seconds > 0 else float("nan")), finite


def fmcl_peak(args, device_index, k):
    """The device's FMA peak as `fmcl bench` measures it (a tiny model: only the peak is
    used); the largest of k measures, since load on the machine only lowers it."""
    best = 0.0
    for r in range(k):
        folder = os.path.join(args.work, f"peak-{r}")
        run([args.fmcl, "bench", "--steps", "20", "--devices", str(device_index),
             "--set", "model.hidden=[16]", "--set", f"output.dir={folder}", "--overwrite"])
        with open(os.path.join(folder, "bench.json")) as f:
            rows = [d for d in json.load(f)["devices"] if d.get("ok")]
        if not rows:
            raise RunError(f"fmcl bench: device {device_index} failed; see {folder}")
        best = max(best, rows[0]["peak_gflops"])
    return best


# ---------------------------------------------------------------------------- PyTorch


def torch_worker(spec_path, out_path):
    """Runs in the subprocess (TORCH_ENV): trains, then samples; writes a JSON result."""
    import ctypes

    import numpy as np
    import torch

    sys.path.insert(0, TOOLS)
    from reference_torch import VelocityField, condot_batch, read_points, sample

    with open(spec_path) as f:
        spec = json.load(f)
    torch.set_num_threads(1)
    torch.manual_seed(spec["seed"])  # parameter initialisation
    generator = torch.Generator().manual_seed(spec["seed"])  # batches and sampling noise
    if spec["data"].endswith(".npy"):
        data = torch.from_numpy(np.ascontiguousarray(np.load(spec["data"]), dtype=np.float32))
    else:
        data = read_points(spec["data"])
    if data.shape[1] != spec["dim"]:
        raise SystemExit(f"{spec['data']}: dimension {data.shape[1]}, expected {spec['dim']}")
    model = VelocityField(spec["dim"], spec["hidden"], spec["activation"], 0)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)

    def step():
        x_t, t, u = condot_batch(data, spec["batch"], SIGMA_MIN, generator)
        loss = ((model(x_t, t) - u) ** 2).sum(dim=1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()

    steps, warmup = spec["steps"], spec["warmup"]
    losses = [step() for _ in range(warmup)]
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps - warmup):
        losses.append(step())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    final_loss = float(torch.stack(losses).mean())

    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    n, dim = spec["sample_n"], spec["dim"]
    sample(model, torch.randn((n, dim), generator=generator), "rk4", 1, 0, 0)  # warm-up
    start = time.perf_counter()
    x0 = torch.randn((n, dim), generator=generator)
    samples, nfe = sample(model, x0, "rk4", spec["sample_steps"], 0, 0)
    sample_seconds = time.perf_counter() - start

    try:
        blas = ctypes.CDLL("libopenblas.so.0")
        blas.openblas_get_corename.restype = ctypes.c_char_p
        blas_info = {"core": blas.openblas_get_corename().decode(),
                     "threads": blas.openblas_get_num_threads()}
    except (OSError, AttributeError):
        blas_info = {"core": "?", "threads": None}
    result = {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "openblas": blas_info,
        "steps_per_s": (steps - warmup) / wall,
        "cpu_per_wall": cpu / wall,
        "final_loss": final_loss,
        "points_per_s": n / sample_seconds,
        "nfe": nfe,
        "samples_finite": bool(torch.isfinite(samples).all()),
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)


def torch_run(args, shape, steps, data_path, folder):
    os.makedirs(folder, exist_ok=True)
    spec = {"seed": args.seed, "data": data_path, "dim": shape["dim"],
            "hidden": shape["hidden"], "activation": shape["activation"],
            "batch": shape["batch"], "steps": steps, "warmup": args.torch_warmup,
            "sample_n": SAMPLE_N, "sample_steps": SAMPLE_STEPS}
    spec_path, out_path = os.path.join(folder, "spec.json"), os.path.join(folder, "result.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=2)
    if os.path.exists(out_path):
        os.remove(out_path)
    run([sys.executable, os.path.abspath(__file__), "--torch-worker", spec_path, out_path],
        env=TORCH_ENV)
    with open(out_path) as f:
        return json.load(f)


# ---------------------------------------------------------------------------- report


def median(values):
    values = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(values) if values else float("nan")


def ratio(a, b):
    return a / b if b and math.isfinite(a) and math.isfinite(b) else float("nan")


def measure_shape(args, name, shape, peak_box):
    steps = args.train_steps or shape["steps"]
    data_sets, data_path = prepare_data(args, name, shape)
    macs = macs_per_row(shape)
    fm_steps, fm_points, fm_loss, th_steps, th_points, th_loss, cpu_wall = ([] for _ in range(7))
    finite, summaries, workers = True, [], []
    for r in range(args.repeat):
        say(f"{name}: repeat {r + 1}/{args.repeat}: fmcl train ({steps} steps)")
        folder = os.path.join(args.work, f"{name}-fmcl-{r}")
        summary = fmcl_train(args, data_sets, shape, steps, folder)
        summaries.append(summary)
        fm_steps.append(summary["train"]["steps_per_s"])
        fm_loss.append(summary["train"]["final_loss"])
        reported = summary["train"]["model_gflops_per_s"]
        mine = 6 * macs * shape["batch"] * fm_steps[-1] * 1e-9
        if abs(reported - mine) > 1e-3 * max(reported, 1e-9):
            say(f"warning: {name}: fmcl reports {reported:.3f} GFLOP/s, this script's formula "
                f"gives {mine:.3f}")
        say(f"{name}: repeat {r + 1}/{args.repeat}: fmcl sample ({SAMPLE_N} points, NFE 100)")
        points, ok = fmcl_sample(args, folder)
        fm_points.append(points)
        finite = finite and ok
        if peak_box[0] is None:
            say(f"measuring the FMA peak of fmcl's device {summary['device']['index']}")
            peak_box[0] = fmcl_peak(args, summary["device"]["index"], args.repeat)
        say(f"{name}: repeat {r + 1}/{args.repeat}: PyTorch (train {steps} steps, sample)")
        res = torch_run(args, shape, steps, data_path, os.path.join(args.work, f"{name}-torch-{r}"))
        workers.append(res)
        th_steps.append(res["steps_per_s"])
        th_points.append(res["points_per_s"])
        th_loss.append(res["final_loss"])
        cpu_wall.append(res["cpu_per_wall"])
        finite = finite and res["samples_finite"] and res["nfe"] == 4 * SAMPLE_STEPS
        say(f"{name}: repeat {r + 1}: steps/s fmcl {fm_steps[-1]:.1f} PyTorch {th_steps[-1]:.1f}; "
            f"points/s fmcl {fm_points[-1]:.0f} PyTorch {th_points[-1]:.0f}; loss fmcl "
            f"{fm_loss[-1]:.4f} PyTorch {th_loss[-1]:.4f}")
        if res["cpu_per_wall"] > 1.2 or res["openblas"]["threads"] not in (1, None):
            say(f"warning: PyTorch used more than one thread (CPU/wall "
                f"{res['cpu_per_wall']:.2f}, OpenBLAS threads {res['openblas']['threads']})")
    peak = peak_box[0]
    row = {"shape": name, "dim": shape["dim"], "hidden": "x".join(map(str, shape["hidden"])),
           "batch": shape["batch"], "train_steps": steps, "repeat": args.repeat,
           "macs_per_row": macs}
    row["fmcl_steps_per_s"], row["torch_steps_per_s"] = median(fm_steps), median(th_steps)
    row["steps_ratio"] = ratio(row["fmcl_steps_per_s"], row["torch_steps_per_s"])
    row["fmcl_points_per_s"], row["torch_points_per_s"] = median(fm_points), median(th_points)
    row["points_ratio"] = ratio(row["fmcl_points_per_s"], row["torch_points_per_s"])
    train_flops = 6 * macs * shape["batch"] * 1e-9
    sample_flops = 2 * macs * 4 * SAMPLE_STEPS * 1e-9
    row["fmcl_train_gflops"] = row["fmcl_steps_per_s"] * train_flops
    row["torch_train_gflops"] = row["torch_steps_per_s"] * train_flops
    row["peak_gflops"] = peak
    row["fmcl_peak_share"] = ratio(row["fmcl_train_gflops"], peak)
    row["fmcl_sample_gflops"] = row["fmcl_points_per_s"] * sample_flops
    row["torch_sample_gflops"] = row["torch_points_per_s"] * sample_flops
    row["fmcl_final_loss"], row["torch_final_loss"] = median(fm_loss), median(th_loss)
    rel = abs(row["fmcl_final_loss"] - row["torch_final_loss"]) / abs(row["torch_final_loss"]) \
        if row["torch_final_loss"] else float("inf")
    row["loss_ok"] = bool(finite and fm_loss and all(v > 0 for v in fm_loss)
                          and math.isfinite(rel) and rel <= args.loss_tolerance)
    row["loss_rel_diff"], row["samples_finite"] = rel, finite
    for key, values in (("fmcl_steps_per_s_all", fm_steps), ("torch_steps_per_s_all", th_steps),
                        ("fmcl_points_per_s_all", fm_points),
                        ("torch_points_per_s_all", th_points)):
        row[key] = ";".join(f"{v:.4g}" for v in values)
    row["torch_cpu_per_wall"] = median(cpu_wall)
    row["context"] = {"fmcl": summaries[0], "torch": workers[0]}
    return row


def fmt(v, digits):
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def report(args, rows, errors, load_start, load_end):
    lines = ["| shape | fmcl steps/s | PyTorch steps/s | ratio | fmcl points/s | "
             "PyTorch points/s | ratio | fmcl GFLOP/s | PyTorch GFLOP/s | fmcl of peak |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(
            f"| {r['shape']} (d {r['dim']}, {r['hidden']}, batch {r['batch']}) | "
            f"{fmt(r['fmcl_steps_per_s'], 1)} | {fmt(r['torch_steps_per_s'], 1)} | "
            f"{fmt(r['steps_ratio'], 2)} | {fmt(r['fmcl_points_per_s'], 0)} | "
            f"{fmt(r['torch_points_per_s'], 0)} | {fmt(r['points_ratio'], 2)} | "
            f"{fmt(r['fmcl_train_gflops'], 1)} | {fmt(r['torch_train_gflops'], 1)} | "
            f"{fmt(100 * r['fmcl_peak_share'], 0)}% |")
    lines.append("")
    if rows:
        fm, th = rows[0]["context"]["fmcl"], rows[0]["context"]["torch"]
        dev = fm["device"]
        lines.append(f"fmcl {fm.get('fmcl_version', '?')} on {dev['name']} ({dev['opencl']}, "
                     f"{dev['compute_units']} compute units, matrix products: {dev['gemm']}); "
                     f"FMA peak {fmt(rows[0]['peak_gflops'], 0)} GFLOP/s"
                     f"{' (--peak)' if args.peak else ' (fmcl bench)'}.")
        lines.append(f"PyTorch {th['torch']}, {th['torch_threads']} thread, OpenBLAS core "
                     f"{th['openblas']['core']} ({th['openblas']['threads']} thread); CPU/wall "
                     + ", ".join(f"{r['shape']} {r['torch_cpu_per_wall']:.2f}" for r in rows)
                     + ".")
        lines.append(f"Medians of {args.repeat} run(s) each; training steps: "
                     + ", ".join(f"{r['shape']} {r['train_steps']}" for r in rows)
                     + f" (PyTorch timed after {args.torch_warmup}, fmcl after 1); sampling: "
                     f"{SAMPLE_N} points, rk4 x{SAMPLE_STEPS} (NFE {4 * SAMPLE_STEPS}). "
                     f"Load average {load_start:.2f} at the start, {load_end:.2f} at the end.")
        lines.append("")
    for r in rows:
        state = "ok" if r["loss_ok"] else "MISMATCH: do not use these numbers"
        lines.append(f"sanity {r['shape']}: final loss (mean over all {r['train_steps']} steps) "
                     f"fmcl {r['fmcl_final_loss']:.4f}, PyTorch {r['torch_final_loss']:.4f} "
                     f"(differ by {100 * r['loss_rel_diff']:.1f}%, tolerance "
                     f"{100 * args.loss_tolerance:.0f}%); samples finite: "
                     f"{'yes' if r['samples_finite'] else 'NO'}: {state}")
    for e in errors:
        lines.append(f"error: {e}")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(args.work, "bench.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.work, "bench.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--torch-worker":
        torch_worker(sys.argv[2], sys.argv[3])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fmcl", default=os.path.join(ROOT, "build", "fmcl"), help="fmcl binary")
    p.add_argument("--shapes", default="toy,wide", help="comma-separated: " + ",".join(SHAPES))
    p.add_argument("--train-steps", type=int,
                   help="training steps of both sides (default: toy 1000, wide 300)")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of each measurement; the table shows the medians")
    p.add_argument("--torch-warmup", type=int, default=20,
                   help="PyTorch training steps before its clock starts")
    p.add_argument("--peak", type=float, help="the device's FMA peak in GFLOP/s "
                   "(default: measured with fmcl bench)")
    p.add_argument("--loss-tolerance", type=float, default=0.10,
                   help="largest relative difference of the final losses")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default="/tmp/fmcl-bench-torch", help="run folders and the report")
    args = p.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or not shapes:
        p.error(f"--shapes: unknown {','.join(unknown) or '(none)'}; known: {','.join(SHAPES)}")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.torch_warmup < 0:
        p.error("--torch-warmup must not be negative")
    for name in shapes:
        if (args.train_steps or SHAPES[name]["steps"]) <= args.torch_warmup + 1:
            p.error(f"{name}: {args.train_steps or SHAPES[name]['steps']} training steps leave "
                    f"too few timed PyTorch steps after a warm-up of {args.torch_warmup}")
    if not os.access(args.fmcl, os.X_OK):
        p.error(f"--fmcl {args.fmcl}: not an executable (build it first)")
    args.fmcl = os.path.abspath(args.fmcl)
    args.work = os.path.abspath(args.work)
    os.makedirs(args.work, exist_ok=True)

    load_start = os.getloadavg()[0]
    if load_start > 0.5:
        say(f"note: load average {load_start:.2f}: other work is running, the numbers will "
            "be noisy")
    peak_box = [args.peak]
    rows, errors = [], []
    for name in shapes:
        try:
            rows.append(measure_shape(args, name, SHAPES[name], peak_box))
        except RunError as e:
            say(f"{name}: failed: {e}")
            errors.append(f"{name}: {str(e).splitlines()[0]}")
    report(args, rows, errors, load_start, os.getloadavg()[0])
    say(f"report: {os.path.join(args.work, 'bench.md')} and bench.csv")
    return 1 if errors or not all(r["loss_ok"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
