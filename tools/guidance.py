#!/usr/bin/python3
"""What classifier-free guidance does to a class-conditional Fashion-MNIST model's samples:
`fmcl sample` at each --scales value (the run's solver and steps, the same source noise),
its picture (a row per class) and three numbers per scale, with the test images' own as
the reference.

    /usr/bin/python3 tools/guidance.py --checkpoint runs/fashion-mnist/model.fmck

For each scale w (sample.guidance: v = v(null) + w (v(class) - v(null))), with --n samples
(each of a random class, read from the CSV's label column):
- class agreement: the share of samples whose nearest training image (Euclidean distance
  over the 784 pixels, all 60,000 images) is of the sample's class: a 1-nearest-neighbour
  classifier's verdict. The first --n test images get about 85%.
- nearest distance: the mean RMS pixel distance (pixels in [-1, 1]) from a sample to its
  nearest training image; a copy of a training image would be 0.
- spread: the mean RMS pixel distance between two samples of the same class, over that of
  two test images of the same class (1: as varied as the data).

Writes the pictures next to the checkpoint (guidance-w<w>.png) and prints a Markdown table.
Needs numpy; reads the data set from FMCL_FASHION_MNIST_DIR or Debian's package folder.
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from images_torch import fashion  # noqa: E402


def nearest(x, reference, chunk=500):
    """Index and distance of each row's nearest reference row (squared distances by one
    product per chunk)."""
    ref_sq = (reference.astype(np.float64) ** 2).sum(axis=1)
    index, dist = np.empty(len(x), dtype=np.int64), np.empty(len(x))
    for i in range(0, len(x), chunk):
        a = x[i:i + chunk]
        d2 = (a.astype(np.float64) ** 2).sum(axis=1)[:, None] + ref_sq[None, :] \
            - 2.0 * (a @ reference.T).astype(np.float64)
        j = d2.argmin(axis=1)
        index[i:i + chunk] = j
        dist[i:i + chunk] = np.sqrt(np.maximum(d2[np.arange(len(a)), j], 0))
    return index, dist


def spread(x, labels):
    """Mean distance between two points of the same class."""
    total, pairs = 0.0, 0
    for c in np.unique(labels):
        a = x[labels == c].astype(np.float64)
        if len(a) < 2:
            continue
        sq = (a ** 2).sum(axis=1)
        d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * a @ a.T, 0))
        total += d[np.triu_indices(len(a), 1)].sum()
        pairs += len(a) * (len(a) - 1) // 2
    return total / pairs


def judge(x, labels, train_x, train_y, dim):
    index, dist = nearest(x, train_x)
    return {"agree": float((train_y[index] == labels).mean()),
            "nearest": float(dist.mean() / np.sqrt(dim)),
            "spread": spread(x, labels) / np.sqrt(dim)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--scales", default="1,2,4")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--fmcl", default=os.path.join(ROOT, "build", "fmcl"))
    args = parser.parse_args()
    folder = os.path.dirname(os.path.abspath(args.checkpoint))
    train_x, train_y = fashion("train", 60000)
    test_x, test_y = fashion("test", args.n)
    dim = train_x.shape[1]
    ref = judge(test_x, test_y, train_x, train_y, dim)
    rows = [("test images", ref, "")]
    for w in args.scales.split(","):
        out = os.path.join(folder, f"guidance-w{w}.csv")
        cmd = [args.fmcl, "sample", "--checkpoint", args.checkpoint, "--set", f"sample.n={args.n}",
               "--set", f"sample.guidance={w}", "--out", out, "--overwrite"]
        print("  $ " + " ".join(cmd), file=sys.stderr, flush=True)
        text = subprocess.run(cmd, capture_output=True, text=True)
        if text.returncode != 0:
            print(f"guidance: fmcl sample failed:\n{text.stdout}{text.stderr}", file=sys.stderr)
            return 1
        picture = re.search(r"images: (\S+)", text.stdout + text.stderr)
        data = np.loadtxt(out, delimiter=",", skiprows=1, dtype=np.float32)
        with open(out) as f:
            header = f.readline().strip().split(",")
        if "label" not in header:
            print(f"guidance: {out} has no label column: not a class-conditional model",
                  file=sys.stderr)
            return 1
        at = header.index("label")
        labels = data[:, at].astype(np.int64)
        x = np.delete(data, at, axis=1)
        rows.append((f"guidance {w}", judge(x, labels, train_x, train_y, dim),
                     picture.group(1) if picture else ""))
    print(f"| {args.n} images | class agreement (1-NN) | nearest training image (RMS) | "
          "spread within a class (vs test) | picture |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, r, picture in rows:
        print(f"| {name} | {100 * r['agree']:.1f}% | {r['nearest']:.3f} | "
              f"{r['spread'] / ref['spread']:.2f} | {picture} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
