"""Section 6: the page of ``adcli serve``: its layout, and a round trip to the local server.

    python benchmarks/bench_serve.py [--repeats 30]     (or: python benchmarks/run.py --only serve)

* **layout**: the page's layout of adcli graphs of about 500 nodes (``web.page.layout_data``:
  boxes and labelled edges, as the page draws them); target under 200 ms.
* **round trip**: what the page does when a slider moves: POST /api/trace with new values
  (the layout is already on the page) to a server on 127.0.0.1, over one kept-alive
  connection as the browser's, until the whole answer is read and decoded; for a
  200-node expression, target under 50 ms.  Also the first request for a program (with
  its layout) and /api/evaluate (the value and gradient alone).

Best and median of the repeats; the best is the number to compare on a shared machine.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from common import Report, Table, fmt_time

from autodiff_cli.api import computation_graph
from autodiff_cli.expr import count_nodes
from autodiff_cli.language.parser import parse
from autodiff_cli.web.page import layout_data
from autodiff_cli.web.server import make_server


@dataclass
class Settings:
    repeats: int = 30


def terms(count: int) -> tuple[str, dict[str, float]]:
    """sin(x0)*x7 + sin(x1)*x14 + ...: four nodes a term, each variable used twice."""
    k = max(2, count)
    text = " + ".join(f"sin(x{i})*x{(7 * i + 3) % k}" for i in range(k))
    return text, {f"x{i}": 0.01 * i for i in range(k)}


def chain(levels: int) -> tuple[str, dict[str, float]]:
    """sin(x + sin(x + ... x)): one variable used at every level."""
    return "sin(x + " * levels + "x" + ")" * levels, {"x": 0.5}


def neuron(count: int) -> tuple[str, dict[str, float]]:
    """A named intermediate used by every term: z = w·x + b; Σ (sigmoid(z·c_i) - t_i)^2."""
    body = " + ".join(f"(sigmoid(z*c{i}) - t{i})^2" for i in range(count))
    point = {"w": 0.5, "x": 1.5, "b": 0.1} | {f"c{i}": 0.1 * i for i in range(count)} | {
        f"t{i}": 0.5 for i in range(count)}
    return "z = w*x + b\n" + body, point


def timed(run: Callable[[], Any], repeats: int) -> list[float]:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def row(name: str, nodes: int, what: str, seconds: list[float], target: str) -> list[str]:
    return [name, f"{nodes:,}", what, fmt_time(min(seconds)), fmt_time(statistics.median(seconds)), target]


def layouts(settings: Settings) -> list[list[str]]:
    rows = []
    for name, (text, point) in (("terms", terms(125)), ("chain", chain(250)), ("neuron", neuron(80))):
        view = computation_graph(text, point)
        seconds = timed(lambda view=view: layout_data(view), max(3, settings.repeats // 5))
        rows.append(row(name, len(view.nodes), "page layout", seconds, "< 200 ms"))
    return rows


class Client:
    """One kept-alive connection to the server, as a browser keeps one."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Content-Type": "application/json", "Host": f"127.0.0.1:{port}",
                        "Origin": f"http://127.0.0.1:{port}"}

    def post(self, name: str, data: dict[str, Any]) -> Any:
        self.connection.request("POST", f"/api/{name}", json.dumps(data), self.headers)
        response = self.connection.getresponse()
        answer = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(answer)
        return answer


def slider(client: Client, text: str, point: dict[str, float]) -> Callable[[], Any]:
    """A request as a moving slider makes: the first variable a little further each time."""
    name = next(iter(point))
    moves = itertools.count(1)

    def moved() -> Any:
        changed = dict(point)
        changed[name] = point[name] + 1e-3 * next(moves)
        return client.post("trace", {"expression": text, "point": changed})

    return moved


def round_trips(settings: Settings) -> list[list[str]]:
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    rows = []
    try:
        client = Client(server.port)
        for name, (text, point) in (("terms", terms(50)), ("chain", chain(100)), ("neuron", neuron(30))):
            nodes = count_nodes(parse(text).result)
            first = timed(lambda text=text, point=point: client.post(
                "trace", {"expression": text, "point": point, "layout": True}), 1)
            rows.append(row(name, nodes, "first trace (with layout)", first, ""))
            rows.append(row(name, nodes, "round trip: new values",
                            timed(slider(client, text, point), settings.repeats), "< 50 ms"))
            rows.append(row(name, nodes, "evaluate only", timed(
                lambda text=text, point=point: client.post("evaluate", {"expression": text, "point": point}),
                settings.repeats), ""))
    finally:
        server.shutdown()
        server.server_close()
    return rows


def run(report: Report, settings: Settings) -> None:
    report.heading("8. The page of adcli serve: layout and round trip")
    report.note("The page's layout of graphs of about 500 nodes, and a round trip to the local server "
                "(POST /api/trace with new values, over one kept-alive connection, answer read and "
                "decoded) for expressions of about 200 nodes.")
    headers = ["graph", "nodes", "what", "best", "median", "target"]
    report.table(Table("Layout (the page's)", headers, layouts(settings)))
    report.table(Table("Round trips to adcli serve on 127.0.0.1", headers, round_trips(settings),
                       ["new values: the trace, the graph, the chain rule's sums and the paths at "
                        "the point; the layout is the page's already"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    run(Report(), Settings(repeats=args.repeats))


if __name__ == "__main__":
    main()
