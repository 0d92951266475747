#!/usr/bin/python3
"""Fashion-MNIST: fmcl against PyTorch on the same recipe, in one run: training steps/s,
sampling images/s, bits/dim, and fmcl's share of the device's FMA peak in training.

    /usr/bin/python3 tools/images_torch.py                      # the recipe's whole budget
    /usr/bin/python3 tools/images_torch.py --steps 2000         # both sides, 2000 steps
    /usr/bin/python3 tools/images_torch.py --steps 50 --eval-n 8 --sample-n 20   # plumbing

The recipe is configs/fashion-mnist.json (--config), resolved by `fmcl config`, with
train.steps set to --steps on both sides. Both train on the same images (Debian's
dataset-fashion-mnist; FMCL_FASHION_MNIST_DIR as for fmcl): the first data.n_train training
images, pixels / 127.5 - 1, their classes as labels.

PyTorch side (tools/fmcl_torch.py's FmclModel, so the same network: the input features,
the residual blocks and their layer normalisation): PyTorch's default initialisation;
batches drawn uniformly with replacement, x0 ~ N(0, I), t ~ U[0, 1), condot x_t = t x1 +
(1 - (1 - sigma_min) t) x0; each label replaced by the null class with chance
train.label_dropout; loss = batch mean of the squared error summed over pixels; Adam with
the recipe's lr, betas and eps; the EMA of the weights (train.ema) taken after every step
with fmcl's warm-up (decay min(ema, (1 + t) / (10 + t)) at step t from 0) and used for
sampling and the likelihood, as fmcl does. Recipe features this side does not
implement (another scheduler or coupling, a learning-rate schedule, weight decay, gradient
clipping, logit-normal times) stop the script rather than compare different recipes.

What is measured:
- training steps/s: fmcl's summary.json train.steps_per_s (without the first step, which
  compiles kernels; the loss read once, at the end, and no checkpoint before it, as
  PyTorch); PyTorch's over the steps after --torch-warmup. The final loss of each is the
  mean over all its steps.
- sampling images/s: --sample-n images (classes 0..9 in turn) with the recipe's solver,
  steps and guidance (two evaluations, with and without the class, per NFE), as one batch.
  fmcl: `fmcl sample --checkpoint` without its one-time program build (it prints both
  times); PyTorch after one warm-up step of the same size.
- bits/dim: fmcl's summary.json likelihood.bits_per_dim (the first eval.n test images,
  dequantized with uniform noise in each pixel's bin, Hutchinson divergence with
  eval.probes Rademacher probes fixed per solve, dopri5 at eval.rtol / eval.atol, the
  likelihood given the class). PyTorch: the same, with its own noise and probes (the same
  distributions), all eval.n images as one state.
- fmcl's share of the FMA peak: its training GFLOP/s (6 x multiply-adds per row x batch x
  steps/s, summary.json train.model_gflops_per_s) over the peak `fmcl bench` measures.

Fairness: PyTorch runs in a subprocess with 1 thread and OPENBLAS_CORETYPE=SkylakeX (its
fastest setting on this CPU, as tools/bench_torch.py explains; its CPU time over wall time
is reported); fmcl on its default device (PoCL: both cores).

Output: a Markdown table on stdout and in WORK/images.md, every figure in WORK/images.json.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
from bench_torch import SAMPLED, TORCH_ENV, RunError, fmcl_peak, run, say  # noqa: E402

DATA_DIR = os.environ.get("FMCL_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


# ---------------------------------------------------------------------------- data


def read_idx(path):
    """The array of a gzip-compressed IDX file of unsigned bytes."""
    import numpy as np

    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, kind, rank = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != 0x08:
        raise RunError(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != math.prod(dims):
        raise RunError(f"{path}: {data.size} values for dimensions {dims}")
    return data.reshape(dims)


def fashion(split, n):
    """The first n images of a split as (n, 784) float32 in [-1, 1], and their labels."""
    import numpy as np

    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))[:n]
    labels = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))[:n]
    x = images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(127.5) - 1
    return x, labels.astype(np.int64)


# ---------------------------------------------------------------------------- recipe


def resolved(args):
    """The recipe as `fmcl config` resolves it, with train.steps = --steps."""
    sets = ["--set", f"train.steps={args.steps}"] if args.steps else []
    return json.loads(run([args.fmcl, "config", "--config", args.config] + sets))


def check_supported(cfg):
    """Stops when the recipe uses what the PyTorch side does not implement."""
    need = {("path", "scheduler"): "condot", ("path", "coupling"): "independent",
            ("path", "sigma"): 0, ("train", "lr_schedule"): "constant", ("train", "warmup"): 0,
            ("train", "weight_decay"): 0, ("train", "grad_clip"): 0,
            ("train", "time_sampling"): "uniform", ("data", "standardize"): False,
            ("data", "name"): "fashion-mnist", ("sample", "time_shift"): 1,
            ("sample", "times"): [], ("sample", "class"): -1}
    for (group, key), want in need.items():
        if cfg[group][key] != want:
            raise RunError(f"{group}.{key} is {cfg[group][key]!r}; the PyTorch side of this "
                           f"comparison implements only {want!r}")
    if cfg["sample"]["solver"] == "dopri5" or cfg["eval"]["divergence"] != "hutchinson" and \
            cfg["eval"]["divergence"] != "auto":
        raise RunError("this comparison takes a fixed-step sampler and Hutchinson divergence")


# ---------------------------------------------------------------------------- fmcl


def fmcl_side(args, cfg):
    folder = os.path.join(args.work, "fmcl")
    say(f"fmcl: training {cfg['train']['steps']} steps into {folder}")
    steps = cfg["train"]["steps"]
    run([args.fmcl, "train", "--quiet", "--overwrite", "--config", args.config,
         "--set", f"train.steps={steps}", "--set", f"eval.n={args.eval_n}",
         "--set", f"train.log_every={steps}", "--set", "train.checkpoint_every=0",
         "--set", f"output.dir={folder}"])
    with open(os.path.join(folder, "summary.json")) as f:
        summary = json.load(f)
    say("fmcl: sampling")
    text = run([args.fmcl, "sample", "--checkpoint", os.path.join(folder, "model.fmck"),
                "--set", f"sample.n={args.sample_n}", "--out",
                os.path.join(folder, "samples-bench.csv"), "--overwrite"])
    m = SAMPLED.search(text)
    if not m:
        raise RunError(f"fmcl sample: no 'sampled N points ... in X s (Y s of it building "
                       f"kernels)' line in:\n{text}")
    seconds = float(m.group(3)) - float(m.group(4))
    say("fmcl: measuring the FMA peak")
    peak = fmcl_peak(args, summary["device"]["index"], args.peak_repeat)
    return {
        "steps_per_s": summary["train"]["steps_per_s"],
        "train_gflops": summary["train"]["model_gflops_per_s"],
        "final_loss": summary["train"]["final_loss"],
        "images_per_s": int(m.group(1)) / seconds,
        "nfe": int(m.group(2)),
        "bits_per_dim": summary["likelihood"]["bits_per_dim"],
        "likelihood_nfe": summary["likelihood"].get("nfe"),
        "peak_gflops": peak,
    }


# ---------------------------------------------------------------------------- PyTorch


def torch_worker(spec_path, out_path):
    """Runs in the subprocess (TORCH_ENV): trains, samples, computes the likelihood."""
    import numpy as np
    import torch

    from fmcl_torch import FmclModel
    from reference_torch import dopri5, fixed_steps

    with open(spec_path) as f:
        spec = json.load(f)
    cfg, seed = spec["config"], spec["config"]["seed"]
    torch.set_num_threads(1)
    torch.manual_seed(seed)  # parameter initialisation
    generator = torch.Generator().manual_seed(seed)
    x_np, y_np = fashion("train", cfg["data"]["n_train"])
    data, labels = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model_cfg, tr = cfg["model"], cfg["train"]
    dim = data.shape[1]
    model = FmclModel({"dim": str(dim), "hidden": json.dumps(model_cfg["hidden"]),
                       "activation": model_cfg["activation"],
                       "time_features": str(model_cfg["time_features"]),
                       "classes": str(model_cfg["classes"]),
                       "residual": json.dumps(bool(model_cfg["residual"]))})
    optimizer = torch.optim.Adam(model.parameters(), lr=tr["lr"],
                                 betas=(tr["beta1"], tr["beta2"]), eps=tr["eps"])
    ema = [q.detach().clone() for q in model.parameters()]
    decay, sigma_min, batch = tr["ema"], cfg["path"]["sigma_min"], tr["batch"]

    def step(index):
        rows = torch.randint(0, data.shape[0], (batch,), generator=generator)
        x1, c = data[rows], labels[rows].clone()
        c[torch.rand(batch, generator=generator) < tr["label_dropout"]] = -1
        x0 = torch.randn(x1.shape, generator=generator)
        t = torch.rand(batch, generator=generator)
        tt = t[:, None]
        x_t = tt * x1 + (1 - (1 - sigma_min) * tt) * x0
        loss = ((model(x_t, t, c) - (x1 - (1 - sigma_min) * x0)) ** 2).sum(dim=1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if decay > 0:
            d = min(decay, (1 + index) / (10 + index))
            with torch.no_grad():
                for e, q in zip(ema, model.parameters()):
                    e.mul_(d).add_(q, alpha=1 - d)
        return loss.detach()

    steps, warmup = tr["steps"], min(spec["warmup"], tr["steps"] - 1)
    losses = [step(i) for i in range(warmup)]
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(warmup, steps):
        losses.append(step(i))
        if (i + 1) % 500 == 0:
            print(f"torch: step {i + 1}/{steps}", file=sys.stderr, flush=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    final_loss = float(torch.stack(losses).mean())

    if decay > 0:
        with torch.no_grad():
            for e, q in zip(ema, model.parameters()):
                q.copy_(e)
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)

    s = cfg["sample"]
    w = s["guidance"]

    def velocity(c):
        null = torch.full_like(c, -1)

        def v(t, x):
            tt = torch.full((x.shape[0],), t, dtype=x.dtype)
            if w == 1:
                return model(x, tt, c)
            return (1 - w) * model(x, tt, null) + w * model(x, tt, c)
        return v

    n = spec["sample_n"]
    c = torch.arange(n) % model_cfg["classes"]
    with torch.no_grad():
        fixed_steps(velocity(c), torch.randn((n, dim), generator=generator), 0.0, 1.0 / s["steps"],
                    s["solver"], 1)  # warm-up
        start = time.perf_counter()
        samples = fixed_steps(velocity(c), torch.randn((n, dim), generator=generator), 0.0, 1.0,
                              s["solver"], s["steps"])
        sample_seconds = time.perf_counter() - start

    ev = cfg["eval"]
    tx, ty = fashion("test", spec["eval_n"])
    bin_width = ev["dequantize"]
    x1 = torch.from_numpy(tx) + bin_width * torch.rand(tx.shape, generator=generator)
    c1 = torch.from_numpy(ty)
    m, probes = x1.shape[0], ev["probes"]
    eps = (torch.randint(0, 2, (probes, m, dim), generator=generator) * 2 - 1).to(x1.dtype)
    nfe = [0]

    def augmented(t, y):
        nfe[0] += 1
        with torch.enable_grad():
            x = y[: m * dim].reshape(m, dim).detach().requires_grad_(True)
            v = model(x, torch.full((m,), t, dtype=x.dtype), c1)
            div = torch.zeros(m, dtype=x.dtype)
            for k in range(probes):  # eps^T J eps by one vector-Jacobian product a probe
                (g,) = torch.autograd.grad(v, x, eps[k], retain_graph=k < probes - 1)
                div = div + (g * eps[k]).sum(dim=1) / probes
        return torch.cat([v.detach().reshape(-1), div.detach()])

    y = dopri5(augmented, torch.cat([x1.reshape(-1), torch.zeros(m)]), 1.0, 0.0, ev["rtol"],
               ev["atol"])
    x0, l0 = y[: m * dim].reshape(m, dim).double(), y[m * dim:].double()
    logp = -0.5 * (x0 ** 2).sum(dim=1) - 0.5 * dim * math.log(2 * math.pi) + l0
    nll = float(-logp.mean())
    result = {
        "torch": torch.__version__,
        "steps_per_s": (steps - warmup) / wall,
        "cpu_per_wall": cpu / wall,
        "final_loss": final_loss,
        "images_per_s": n / sample_seconds,
        "samples_finite": bool(torch.isfinite(samples).all()),
        "bits_per_dim": (nll - dim * math.log(bin_width)) / (dim * math.log(2)),
        "likelihood_nfe": nfe[0],
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)


def torch_side(args, cfg):
    folder = os.path.join(args.work, "torch")
    os.makedirs(folder, exist_ok=True)
    spec = {"config": cfg, "warmup": args.torch_warmup, "sample_n": args.sample_n,
            "eval_n": min(args.eval_n, cfg["data"]["n_test"])}
    spec_path, out_path = os.path.join(folder, "spec.json"), os.path.join(folder, "result.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f, indent=2)
    if os.path.exists(out_path):
        os.remove(out_path)
    say(f"PyTorch: training {cfg['train']['steps']} steps (1 thread)")
    run([sys.executable, os.path.abspath(__file__), "--torch-worker", spec_path, out_path],
        env=TORCH_ENV)
    with open(out_path) as f:
        return json.load(f)


# ---------------------------------------------------------------------------- report


def report(args, cfg, f, t):
    ratio = lambda a, b: a / b if b else float("nan")  # noqa: E731
    m, tr, s = cfg["model"], cfg["train"], cfg["sample"]
    lines = [
        f"Fashion-MNIST, {'residual ' if m['residual'] else ''}hidden {m['hidden']}, "
        f"{tr['steps']} steps of batch {tr['batch']}; sampling {args.sample_n} images with "
        f"{s['solver']} x {s['steps']} at guidance {s['guidance']}; bits/dim of "
        f"{args.eval_n} test images",
        "",
        "| | fmcl (PoCL, 2 cores) | PyTorch (1 thread) | fmcl / PyTorch |",
        "| --- | ---: | ---: | ---: |",
        f"| training steps/s | {f['steps_per_s']:.2f} | {t['steps_per_s']:.2f} | "
        f"{ratio(f['steps_per_s'], t['steps_per_s']):.2f} |",
        f"| sampling images/s | {f['images_per_s']:.1f} | {t['images_per_s']:.1f} | "
        f"{ratio(f['images_per_s'], t['images_per_s']):.2f} |",
        f"| bits/dim | {f['bits_per_dim']:.3f} | {t['bits_per_dim']:.3f} | "
        f"{f['bits_per_dim'] - t['bits_per_dim']:+.3f} |",
        f"| mean training loss | {f['final_loss']:.2f} | {t['final_loss']:.2f} | |",
        "",
        f"fmcl in training: {f['train_gflops']:.1f} GFLOP/s, "
        f"{100 * f['train_gflops'] / f['peak_gflops']:.0f}% of the FMA peak "
        f"`fmcl bench` measured ({f['peak_gflops']:.0f} GFLOP/s). PyTorch's CPU time over "
        f"wall time in training: {t['cpu_per_wall']:.2f}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.work, "images.md"), "w") as out:
        out.write(text)
    with open(os.path.join(args.work, "images.json"), "w") as out:
        json.dump({"fmcl": f, "torch": t, "steps": tr["steps"]}, out, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=os.path.join(ROOT, "configs", "fashion-mnist.json"))
    parser.add_argument("--steps", type=int, default=0, help="training steps (0: the recipe's)")
    parser.add_argument("--sample-n", type=int, default=1000)
    parser.add_argument("--eval-n", type=int, default=200)
    parser.add_argument("--torch-warmup", type=int, default=20)
    parser.add_argument("--peak-repeat", type=int, default=3)
    parser.add_argument("--fmcl", default=os.path.join(ROOT, "build", "fmcl"))
    parser.add_argument("--work", default="/tmp/fmcl-images")
    parser.add_argument("--torch-worker", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        torch_worker(*args.torch_worker)
        return 0
    os.makedirs(args.work, exist_ok=True)
    try:
        cfg = resolved(args)
        check_supported(cfg)
        t = torch_side(args, cfg)
        f = fmcl_side(args, cfg)
    except RunError as e:
        print(f"images_torch: {e}", file=sys.stderr)
        return 1
    if not t["samples_finite"]:
        print("images_torch: PyTorch's samples are not finite", file=sys.stderr)
        return 1
    report(args, cfg, f, t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
