"""The layered layout (autodiff_cli.views.layout) and the SVG picture (autodiff_cli.render.svg): milliseconds.

    python benchmarks/bench_layout.py [--repeats 7] [--sizes 500,5000]

For each graph and size: the layout alone (as the SVG lays it out: labelled
edges, so ranks are doubled), then the whole SVG text (layout included).  The
best and the median of the repeats are printed; a shared machine is noisy, so
the best is the number to compare.  The graphs:

* ``terms``: sin(x0)*x7 + sin(x1)*x14 + ...: every variable is used at two
  depths far apart, so the dummy budget cuts in (the shortcuts column);
* ``wide``: sin(x0) + sin(x1) + ...: a long chain of sums, each with its own input;
* ``deep``: sin(x + sin(x + ... x)): one variable used at every level (one trunk);
* ``random``: a random DAG of boxes (seeded), each node using 1 to 3 of the 30
  nodes before it, laid out without labels (the generic layout).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autodiff_cli.api import computation_graph
from autodiff_cli.render.svg import graph_svg, scene
from autodiff_cli.views.graph import GraphView
from autodiff_cli.views.layout import Layout, crossings, layered_layout


def terms(nodes: int) -> GraphView:
    """Four nodes per term: a variable, its sin, a product, a sum."""
    k = max(2, (nodes + 1) // 4)
    text = " + ".join(f"sin(x{i})*x{(7 * i + 3) % k}" for i in range(k))
    return computation_graph(text, **{f"x{i}": 0.01 * i for i in range(k)})


def wide(nodes: int) -> GraphView:
    k = max(1, (nodes + 1) // 3)
    return computation_graph(" + ".join(f"sin(x{i})" for i in range(k)),
                             **{f"x{i}": 0.5 for i in range(k)})


def deep(nodes: int) -> GraphView:
    levels = (nodes - 1) // 2
    return computation_graph("sin(x + " * levels + "x" + ")" * levels, x=0.5)


def random_dag(nodes: int, seed: int = 1) -> tuple[dict[str, tuple[float, float]],
                                                   list[tuple[str, str]]]:
    rng = random.Random(seed)
    sizes = {f"n{i}": (rng.uniform(40, 200), rng.uniform(20, 60)) for i in range(nodes)}
    edges = []
    for i in range(1, nodes):
        for _ in range(rng.randint(1, 3)):
            edges.append((f"n{rng.randrange(max(0, i - 30), i)}", f"n{i}"))
    return sizes, edges


def timed(run: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    seconds = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def row(name: str, nodes: int, edges: int, what: str, seconds: list[float], layout: Layout) -> str:
    shortcuts = sum(1 for e in layout.edges if e.shortcut)
    return (f"{name:<7} {nodes:>6} {edges:>6}  {what:<6} {1000 * min(seconds):>9.1f} "
            f"{1000 * statistics.median(seconds):>9.1f}  {layout.layers:>6} {crossings(layout):>9} "
            f"{shortcuts:>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sizes", default="500,5000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'graph':<7} {'nodes':>6} {'edges':>6}  {'what':<6} {'best ms':>9} {'median':>9}  "
          f"{'layers':>6} {'crossings':>9} {'shortcuts':>9}")
    for size in sizes:
        repeats = args.repeats if size <= 1000 else max(1, args.repeats // 3)
        for name, build in (("terms", terms), ("wide", wide), ("deep", deep)):
            view = build(size)
            seconds, drawn = timed(lambda view=view: scene(view), repeats)
            print(row(name, len(view.nodes), len(view.edges), "layout", seconds, drawn.layout))
            seconds, _ = timed(lambda view=view: graph_svg(view), repeats)
            print(row(name, len(view.nodes), len(view.edges), "svg", seconds, drawn.layout))
        boxes, pairs = random_dag(size)
        seconds, layout = timed(lambda boxes=boxes, pairs=pairs: layered_layout(boxes, pairs),
                                repeats)
        print(row("random", len(boxes), len(pairs), "layout", seconds, layout))


if __name__ == "__main__":
    main()
