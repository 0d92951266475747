#!/usr/bin/python3
"""fmcl's models in PyTorch: the torch.nn.Module an exported file describes, and a check that
it computes what fmcl computes.

    from fmcl_torch import load
    model = load("moons.safetensors")          # FmclModel: model(x, t, labels=None) -> v
    v = model(x, t)                             # x (n, dim) in model units, t (n,)

    /usr/bin/python3 tools/fmcl_torch.py --check RUN/model.fmck   # exports, compares, trains

`fmcl export` writes the weights as the state dict of an nn.Sequential of Linear and
activation modules ("0.weight", "0.bias", "2.weight", ...) and the model's description in
the file's __metadata__ (dim, hidden, activation, time_features, classes, residual, mean,
std). The network's input is [x, t, sin(2 pi k t), cos(2 pi k t) for k = 1..time_features,
the one-hot class (all zero for the null class)], as fmcl's kernels build it. A residual
model (model.residual) has the same linear layers, wired as blocks: s = act(L0(in)), then
s = s + L(2k) act(L(2k-1) norm(s)) for each block k, and v = L(last) norm(s), with norm
PyTorch's layer_norm without affine parameters (eps 1e-5).

--check exports the checkpoint, draws fmcl's source noise here (the Philox counters and
Box-Muller transform of cl/rng.cl), samples with Euler in PyTorch and compares the points
with `fmcl sample` of the exported file (they must agree to 1e-5 of the data's scale),
then writes a PyTorch-initialised state dict of the same shape without any metadata and
trains on from it with `fmcl train --set model.init_from=...` (no step: the run's model
must be the file's weights). Exits 1 when a comparison fails. Needs torch and numpy.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACTIVATIONS = {"silu": torch.nn.SiLU, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
               "gelu": torch.nn.GELU}
DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16}


def read_safetensors(path):
    """(tensors as numpy arrays by name, metadata dict) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    meta = header.pop("__metadata__", {})
    body = data[8 + length:]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(body[begin:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return tensors, meta


def write_safetensors(path, tensors, meta=None):
    """Writes float32 tensors (a dict of numpy arrays) as safetensors, in sorted name order
    as safetensors' own writer does."""
    header, offset, chunks = {}, 0, []
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    if meta:
        header["__metadata__"] = meta
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


class FmclModel(torch.nn.Module):
    """v(x, t, labels) of an fmcl model: the input features, then the nn.Sequential."""

    def __init__(self, meta):
        super().__init__()
        self.dim = int(meta["dim"])
        self.hidden = json.loads(meta["hidden"])
        self.time_features = int(meta["time_features"])
        self.classes = int(meta["classes"])
        self.residual = bool(json.loads(meta.get("residual", "false")))
        mean, std = json.loads(meta.get("mean", "null")), json.loads(meta.get("std", "null"))
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float64)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float64)
        widths = [self.dim + 1 + 2 * self.time_features + self.classes, *self.hidden, self.dim]
        layers = []
        for i in range(len(widths) - 1):
            layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2:
                layers.append(ACTIVATIONS[meta["activation"]]())
        self.net = torch.nn.Sequential(*layers)

    def features(self, x, t, labels=None):
        cols = [x, t[:, None]]
        for k in range(1, self.time_features + 1):
            a = 2 * np.float32(np.pi) * k * t
            cols += [torch.sin(a)[:, None], torch.cos(a)[:, None]]
        if self.classes:
            onehot = torch.zeros(x.shape[0], self.classes, dtype=x.dtype)
            if labels is not None:
                known = labels >= 0
                onehot[known, labels[known]] = 1
            cols.append(onehot)
        return torch.cat(cols, dim=1)

    def forward(self, x, t, labels=None):
        a = self.features(x, t, labels)
        if not self.residual:
            return self.net(a)
        linear = [m for m in self.net if isinstance(m, torch.nn.Linear)]
        act, norm = self.net[1], torch.nn.functional.layer_norm
        s = act(linear[0](a))
        for k in range(1, len(linear) - 1, 2):
            s = s + linear[k + 1](act(linear[k](norm(s, s.shape[-1:], eps=1e-5))))
        return linear[-1](norm(s, s.shape[-1:], eps=1e-5))


def load(path):
    """The FmclModel of an exported file, its weights loaded."""
    tensors, meta = read_safetensors(path)
    model = FmclModel(meta)
    model.net.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    return model.eval()


M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
FM_STREAM_SAMPLE = 6


def philox(c0, c1, c2, c3, seed):
    """Philox4x32-10 of uint64 arrays of counters under the key of seed (as src/rng.c)."""
    mask = np.uint64(0xFFFFFFFF)
    c = [np.asarray(v, dtype=np.uint64) & mask for v in (c0, c1, c2, c3)]
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64((seed >> 32) & 0xFFFFFFFF)
    for _ in range(10):
        p0, p1 = np.uint64(M0) * c[0], np.uint64(M1) * c[2]
        c = [((p1 >> np.uint64(32)) ^ c[1] ^ k0) & mask, p1 & mask,
             ((p0 >> np.uint64(32)) ^ c[3] ^ k1) & mask, p0 & mask]
        k0, k1 = (k0 + np.uint64(W0)) & mask, (k1 + np.uint64(W1)) & mask
    return [v.astype(np.uint32) for v in c]


def source_noise(n, dim, seed):
    """The N(0, I) source points fmcl sample draws: row i from Philox at (i, block, 0,
    FM_STREAM_SAMPLE), four coordinates a block by Box-Muller (cl/rng.cl)."""
    rows = np.arange(n, dtype=np.uint64)[:, None]
    blocks = np.arange((dim + 3) // 4, dtype=np.uint64)[None, :]
    x, y, z, w = philox(rows + 0 * blocks, blocks + 0 * rows, 0, FM_STREAM_SAMPLE, seed)
    out = np.zeros((n, 4 * blocks.shape[1]), dtype=np.float32)
    for first, (a, b) in enumerate([(x, y), (z, w)]):
        u1 = ((a >> 8) + 1).astype(np.float32) * np.float32(1.0 / 16777216.0)
        u2 = (b >> 8).astype(np.float32) * np.float32(1.0 / 16777216.0)
        radius = np.sqrt(np.float32(-2.0) * np.log(u1))
        angle = np.float32(6.283185307) * u2
        out[:, 2 * first::4] = radius * np.cos(angle)
        out[:, 2 * first + 1::4] = radius * np.sin(angle)
    return out[:, :dim]


def euler_samples(model, n, steps, seed, labels=None):
    """fmcl sample with euler and steps, in data units."""
    x = torch.from_numpy(source_noise(n, model.dim, seed))
    with torch.no_grad():
        for k in range(steps):
            t = torch.full((n,), k / steps, dtype=torch.float32)
            x = x + (1.0 / steps) * model(x, t, labels)
    x = x.double()
    if model.std is not None:
        x = x * model.std + model.mean
    return x.numpy()


def run(cmd):
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.exit(f"fmcl_torch: exit {result.returncode}: {' '.join(cmd)}\n{result.stdout}")
    return result.stdout


def check(args):
    work = tempfile.mkdtemp(prefix="fmcl-torch-")
    exported = os.path.join(work, "model.safetensors")
    run([args.fmcl, "export", "--checkpoint", args.check, "--out", exported, "--quiet"])
    model = load(exported)
    out = os.path.join(work, "samples.csv")
    run([args.fmcl, "sample", "--checkpoint", exported, "--set", "sample.solver=euler",
         "--set", f"sample.steps={args.steps}", "--set", f"sample.n={args.n}", "--set", "seed=0",
         "--out", out, "--quiet"])
    with open(out) as f:
        header = f.readline().strip().split(",")
    table = np.loadtxt(out, delimiter=",", skiprows=1, ndmin=2)
    labels = None
    if "label" in header:
        labels = torch.from_numpy(table[:, header.index("label")].astype(np.int64))
    fm = table[:, [i for i, h in enumerate(header) if h != "label"]]
    torch.set_num_threads(1)
    pt = euler_samples(model, args.n, args.steps, 0, labels)
    scale = max(1.0, float(np.abs(fm).max()))
    err = float(np.abs(pt - fm).max())
    ok = err <= 1e-5 * scale
    print(f"samples (euler, {args.steps} steps, {args.n} points): fmcl and PyTorch differ by at "
          f"most {err:.3g} (scale {scale:.3g}): {'same' if ok else 'DIFFERENT'}")
    # A PyTorch-initialised state dict of the same shape, no metadata, trains on in fmcl.
    torch.manual_seed(1)
    fresh = FmclModel(read_safetensors(exported)[1])
    weights = {k: v.detach().numpy() for k, v in fresh.net.state_dict().items()}
    init = os.path.join(work, "torch-init.safetensors")
    write_safetensors(init, weights)
    with open(os.path.join(os.path.dirname(os.path.abspath(args.check)), "config.json")) as f:
        cfg = json.load(f)
    run_dir = os.path.join(work, "from-torch")
    run([args.fmcl, "train", "--config", os.path.join(os.path.dirname(os.path.abspath(args.check)),
                                                    "config.json"),
         "--set", f"model.init_from={init}", "--set", "train.steps=0", "--set", "sample.n=16",
         "--set", "output.plots=false", "--set", "eval.likelihood=false", "--set",
         "eval.metrics=false", "--set", f"output.dir={run_dir}", "--quiet"])
    run([args.fmcl, "export", "--checkpoint", os.path.join(run_dir, "model.fmck"), "--out",
         os.path.join(work, "back.safetensors"), "--raw", "--quiet"])
    back, _ = read_safetensors(os.path.join(work, "back.safetensors"))
    same = all(np.array_equal(back[k], weights[k]) for k in weights)
    print(f"a PyTorch state dict ({len(weights)} tensors, {cfg['name']}'s shape) as "
          f"model.init_from: {'the run starts from its weights' if same else 'DIFFERENT weights'}")
    return 0 if ok and same else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", metavar="RUN/model.fmck", required=True)
    parser.add_argument("--fmcl", default=os.path.join(ROOT, "build", "fmcl"))
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    sys.exit(check(args))


if __name__ == "__main__":
    main()
