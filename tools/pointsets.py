"""Point sets as fmcl writes them, and the distances the tools/ scripts report.

Imported by quality.py, solvers_table.py and compare_paths.py (Python puts a script's own
folder on its path). Needs numpy and scipy.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist


def read_csv(path):
    """(header, rows) of a CSV with a header row."""
    with open(path) as f:
        header = f.readline().strip().split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def points(path):
    """The x0,x1,... columns of a CSV with a header row (samples.csv, test.csv)."""
    header, data = read_csv(path)
    return data[:, [i for i, name in enumerate(header) if name.startswith("x")]]


def w2(a, b):
    """Exact 2-Wasserstein distance between two equal-size point sets with uniform weights."""
    cost = cdist(a, b, "sqeuclidean")
    rows, cols = linear_sum_assignment(cost)
    return float(np.sqrt(cost[rows, cols].mean()))


def energy(a, b):
    """Energy distance 2 E|X-Y| - E|X-X'| - E|Y-Y'|: cross term over all pairs, within-set
    terms as U-statistics (pairs i != j), as fmcl's fm_metrics_energy."""
    na, nb = len(a), len(b)
    xy = cdist(a, b).mean()
    xx = cdist(a, a).sum() / (na * (na - 1))
    yy = cdist(b, b).sum() / (nb * (nb - 1))
    return float(2 * xy - xx - yy)
