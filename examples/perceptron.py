"""Make examples/perceptron.csv: two separable Gaussian clusters of 100 points each, labelled
0 and 1, for `adcli fit "sigmoid(w1*x1 + w2*x2 + b)" --loss bce` (the README's example).

    python examples/perceptron.py            # writes examples/perceptron.csv

The seed is fixed, so the file is the same every time (and the same file is in the
repository).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

SEED = 7
POINTS = 100
CENTERS = ((-1.5, -1.0), (1.5, 1.0))
SPREAD = 0.6


def make(path: Path) -> None:
    rng = np.random.default_rng(SEED)
    rows = []
    for label, (cx, cy) in enumerate(CENTERS):
        xs = rng.normal(cx, SPREAD, POINTS)
        ys = rng.normal(cy, SPREAD, POINTS)
        rows += [(round(float(a), 4), round(float(b), 4), label) for a, b in zip(xs, ys)]
    order = rng.permutation(len(rows))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x1", "x2", "y"])
        writer.writerows(rows[i] for i in order)


if __name__ == "__main__":
    make(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("perceptron.csv"))
