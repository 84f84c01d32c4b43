"""Section 6: adcli fit against scipy's curve_fit, PyTorch and JAX; the CSV readers; memory.

- readers: reading 1,000,000 rows of two columns with numpy.loadtxt, Python's csv module,
  pyarrow, pandas and polars (each when installed): what chose adcli's reader;
- least squares: 1,000,000 rows x 3 parameters, the whole ``adcli fit`` process and the
  fit alone, against scipy's ``curve_fit`` (Levenberg–Marquardt with a finite-difference
  Jacobian) on the same file;
- Adam: 10,000 rows, 1,000 full-batch steps of a logistic regression, adcli's fitting time
  against PyTorch eager and a jitted JAX step (when installed), with ratios;
- memory: peak resident memory of a mini-batch fit streamed from a file several times
  larger, with each reader;
- NIST: the 27 StRD datasets from both starts, the worst parameter's and the worst standard
  deviation's significant digits, adcli against curve_fit.

    python benchmarks/bench_fit.py [--quick]      # or: python benchmarks/run.py --only fit
"""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

from common import Report, Table, fmt_ratio, fmt_time, interleave, run_process  # noqa: E402

from autodiff_cli.fit import FitConfig, fit  # noqa: E402


@dataclass
class Settings:
    repeats: int
    command: list[str]
    env: dict[str, str]
    rows: int = 1_000_000
    memory_mb: int = 300


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def make_regression(path: Path, rows: int) -> None:
    """y = 3 exp(-x/2) + 1.5 + noise (sd 0.05), x uniform on [0, 10]."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, rows)
    y = 3.0 * np.exp(-0.5 * x) + 1.5 + rng.normal(0, 0.05, rows)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("x,y\n")
        handle.writelines(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist()))


def readers(report: Report, path: Path, repeats: int) -> None:
    import numpy as np

    def loadtxt() -> Any:
        return np.loadtxt(path, delimiter=",", skiprows=1)

    def csv_module() -> Any:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            next(rows)
            return np.array([[float(v) for v in row] for row in rows])

    def adcli_reader(name: str) -> Any:
        from autodiff_cli.fit.data import open_source, read_table

        return lambda: read_table(open_source(path), ["x", "y"], reader=name)

    runners: dict[str, Any] = {
        "numpy.loadtxt": loadtxt,
        "csv module + float()": csv_module,
        "adcli, numpy reader": adcli_reader("numpy"),
    }
    if _installed("pyarrow"):
        import pyarrow.csv as pc

        runners["pyarrow.csv.read_csv"] = lambda: pc.read_csv(path)
        runners["adcli, pyarrow reader"] = adcli_reader("pyarrow")
    if _installed("pandas"):
        import pandas as pd

        runners["pandas.read_csv"] = lambda: pd.read_csv(path)
    if _installed("polars"):
        import polars as pl

        runners["polars.read_csv"] = lambda: pl.read_csv(path)
    timed = {name: (lambda f=f: _time(f)) for name, f in runners.items()}
    series = interleave(timed, max(1, repeats), warmup=1)
    fastest = min(s.best for s in series.values())
    table = Table(
        "Reading 1,000,000 rows x 2 columns of CSV (best of the rounds)", ["reader", "time", "÷ fastest"]
    )
    for name, s in sorted(series.items(), key=lambda item: item[1].best):
        table.rows.append([name, fmt_time(s.best), fmt_ratio(s.best / fastest)])
    report.table(table)


def _time(function: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start, None


def least_squares(report: Report, settings: Settings, path: Path) -> None:
    import numpy as np

    argv = [
        *settings.command,
        "fit",
        "a*exp(-k*x) + c",
        "--data",
        str(path),
        "--a",
        "1",
        "--k",
        "1",
        "--c",
        "0",
        "--json",
    ]

    def whole() -> tuple[float, Any]:
        wall, code, _out, _err, rss = run_process(argv, env=settings.env)
        return wall, (code, rss)

    def library() -> tuple[float, Any]:
        start = time.perf_counter()
        result = fit("a*exp(-k*x) + c", path, a=1, k=1, c=0)
        return time.perf_counter() - start, result

    runners: dict[str, Any] = {"adcli fit, whole process": whole, "adcli fit(), read + fit": library}
    if _installed("scipy"):
        from scipy.optimize import curve_fit

        def scipy_fit() -> tuple[float, Any]:
            start = time.perf_counter()
            data = np.loadtxt(path, delimiter=",", skiprows=1)
            x, y = data[:, 0], data[:, 1]
            params, cov = curve_fit(lambda x, a, k, c: a * np.exp(-k * x) + c, x, y, p0=[1, 1, 0])
            return time.perf_counter() - start, (params, cov)

        runners["scipy curve_fit (loadtxt + fit, finite differences)"] = scipy_fit
    series = interleave(runners, settings.repeats, warmup=1)
    result = series["adcli fit(), read + fit"].payload
    table = Table(
        f"Least squares: {settings.rows:,} rows x 3 parameters, a*exp(-k*x) + c",
        ["implementation", "best", "median", "a, k, c", "notes"],
    )
    for name, s in series.items():
        if name.startswith("adcli fit,"):
            code, rss = s.payload
            params, note = "(as below)", f"exit {code}, peak RSS {rss / 1024:.0f} MiB; target < 2 s"
        elif name.startswith("adcli"):
            params = ", ".join(f"{v:.10g}" for v in result.parameters.values())
            note = f"{result.iterations} iterations, fitting {fmt_time(result.elapsed)}"
        else:
            params = ", ".join(f"{v:.10g}" for v in s.payload[0])
            se = np.sqrt(np.diag(s.payload[1]))
            ours = result.standard_errors or {}
            worst = max(abs(a - b) / b for a, b in zip(se, ours.values()))
            note = f"standard errors differ from adcli's by up to {worst:.1e} (relative)"
        table.rows.append([name, fmt_time(s.best), fmt_time(s.median), params, note])
    report.table(table)


def adam(report: Report, settings: Settings, folder: Path) -> None:
    import numpy as np

    rows, steps, lr = 10_000, 1000, 0.05
    rng = np.random.default_rng(1)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    y = (x1 + 0.5 * x2 + 0.3 * rng.normal(size=rows) > 0).astype(np.float64)
    path = folder / "classes.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("x1,x2,y\n")
        handle.writelines(f"{a!r},{b!r},{int(c)}\n" for a, b, c in zip(x1.tolist(), x2.tolist(), y.tolist()))
    model = "sigmoid(w1*x1 + w2*x2 + b)"
    config = FitConfig(loss="bce", optimizer="adam", hyper={"lr": lr}, epochs=steps, tol=0.0)

    def ours() -> tuple[float, Any]:
        result = fit(model, path, init=0.0, config=config)
        return result.elapsed, result

    runners: dict[str, Any] = {"adcli fit (fitting time)": ours}
    if _installed("torch"):
        import torch

        def torch_eager() -> tuple[float, Any]:
            t1, t2, ty = (torch.tensor(v, dtype=torch.float64) for v in (x1, x2, y))
            w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
            opt = torch.optim.Adam([w], lr=lr)
            start = time.perf_counter()
            for _ in range(steps):
                opt.zero_grad()
                z = w[0] * t1 + w[1] * t2 + w[2]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z, ty)
                loss.backward()
                opt.step()
            return time.perf_counter() - start, w.detach().numpy().tolist()

        runners["PyTorch eager"] = torch_eager
    if _installed("jax"):
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)

        def jax_jit() -> tuple[float, Any]:
            j1, j2, jy = jnp.asarray(x1), jnp.asarray(x2), jnp.asarray(y)

            def loss(w: Any) -> Any:
                z = w[0] * j1 + w[1] * j2 + w[2]
                return jnp.mean(jax.nn.softplus(z) - jy * z)

            @jax.jit
            def step(w: Any, m: Any, v: Any, t: Any) -> Any:
                g = jax.grad(loss)(w)
                m = 0.9 * m + 0.1 * g
                v = 0.999 * v + 0.001 * g * g
                w = w - lr / (1 - 0.9**t) * m / (jnp.sqrt(v) / jnp.sqrt(1 - 0.999**t) + 1e-8)
                return w, m, v

            w = m = v = jnp.zeros(3)
            step(w, m, v, 1.0)[0].block_until_ready()  # compile outside the timing
            start = time.perf_counter()
            for t in range(1, steps + 1):
                w, m, v = step(w, m, v, float(t))
            w.block_until_ready()
            return time.perf_counter() - start, np.asarray(w).tolist()

        runners["JAX jit (one jitted step per call)"] = jax_jit
    series = interleave(runners, settings.repeats, warmup=1)
    base = series["adcli fit (fitting time)"]
    result = base.payload
    table = Table(
        f"Adam: {rows:,} rows, {steps:,} full-batch steps of logistic regression (bce)",
        ["implementation", "best", "÷ adcli", "w1, w2, b"],
    )
    for name, s in series.items():
        point = list(result.parameters.values()) if s is base else s.payload
        table.rows.append(
            [name, fmt_time(s.best), fmt_ratio(s.best / base.best), ", ".join(f"{v:.8g}" for v in point)]
        )
    if len(series) == 1:
        table.notes.append("PyTorch and JAX are not installed: pip install -e '.[bench]'")
    table.notes.append("target: adcli under 1 s of fitting")
    report.table(table)


def memory(report: Report, settings: Settings, folder: Path) -> None:
    import numpy as np

    path = folder / "big.csv"
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 10_000)
    y = 3.0 * np.exp(-0.5 * x) + 1.5
    block = "".join(f"{a:.6f},{b:.6f},{'z' * 80}\n" for a, b in zip(x, y)).encode()
    with open(path, "wb") as handle:
        handle.write(b"x,y,note\n")
        for _ in range((settings.memory_mb << 20) // len(block) + 1):
            handle.write(block)
    size = path.stat().st_size
    table = Table(
        f"Memory: a mini-batch fit (batch 4096, 1 epoch) streamed from a {size / 2**20:.0f} MiB file",
        ["reader", "wall", "peak RSS", "RSS ÷ file"],
    )
    names = ["numpy", *(["pyarrow"] if _installed("pyarrow") else [])]
    for name in names:
        argv = [
            *settings.command,
            "fit",
            "a*exp(-k*x) + c",
            "--data",
            str(path),
            "--init",
            "1",
            "-O",
            "adam",
            "--lr",
            "0.05",
            "--batch-size",
            "4096",
            "--epochs",
            "1",
            "--reader",
            name,
            "--json",
        ]
        wall, code, _out, _err, rss = run_process(argv, env=settings.env)
        table.rows.append(
            [
                name,
                fmt_time(wall) + ("" if code == 0 else f" (exit {code})"),
                f"{rss / 1024:.0f} MiB",
                f"{rss * 1024 / size:.2f}",
            ]
        )
    table.notes.append("tests/test_fit_memory.py runs the same fit of a 640 MB file under a 320 MB RLIMIT_AS")
    report.table(table)
    path.unlink()


def nist(report: Report) -> None:
    import numpy as np

    from tests.nist import datasets, digits

    table = Table(
        "NIST StRD nonlinear regression: significant digits of the worst parameter / the worst "
        "standard deviation",
        ["dataset", "difficulty", "start", "adcli", "scipy curve_fit (lm)"],
    )
    met = {"adcli": 0, "scipy": 0}
    folder = Path(tempfile.mkdtemp(prefix="adcli-nist-"))
    for ds in datasets():
        path = folder / f"{ds.name}.csv"
        path.write_text(ds.csv(), encoding="ascii")
        columns = {name: np.array([row[i] for row in ds.rows]) for i, name in enumerate(ds.columns)}
        target = np.log(columns["y"]) if ds.target == "log(y)" else columns["y"]
        for start in (0, 1):
            cells = []
            try:
                result = fit(
                    ds.model,
                    path,
                    config=FitConfig(target=ds.target),
                    **dict(zip(ds.parameters, ds.starts[start])),
                )
                p = min(digits(result.parameters[n], c) for n, c in zip(ds.parameters, ds.certified))
                s = min(
                    digits((result.standard_errors or {})[n], c)
                    for n, c in zip(ds.parameters, ds.certified_sd)
                )
            except Exception as error:  # a failure is a result here
                p = s = 0.0
                print(f"adcli failed on {ds.name}: {error}")
            met["adcli"] += p >= 6 and s >= 4
            cells.append(f"{p:.1f} / {s:.1f}")
            p, s = _scipy_digits(ds, start, columns, target)
            met["scipy"] += p >= 6 and s >= 4
            cells.append(f"{p:.1f} / {s:.1f}")
            table.rows.append([ds.name, ds.difficulty, str(start + 1), *cells])
    table.notes.append(
        f"runs with every parameter to >= 6 digits and every standard deviation to >= 4: "
        f"adcli {met['adcli']} of 54, scipy curve_fit {met['scipy']} of 54"
    )
    report.table(table)


def _scipy_digits(ds: Any, start: int, columns: dict[str, Any], target: Any) -> tuple[float, float]:
    if not _installed("scipy"):
        return math.nan, math.nan
    import warnings

    import numpy as np
    from scipy.optimize import curve_fit

    from autodiff_cli import compile_program, parse
    from tests.nist import digits

    program = parse(ds.model)
    compiled = compile_program(program, ())
    inputs = [n for n in program.variables if n not in ds.parameters]

    def model(_: Any, *b: float) -> Any:
        values = dict(zip(ds.parameters, b))
        return compiled.values_at(*(values[n] if n in values else columns[n] for n in program.variables))

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, cov = curve_fit(
                model, np.zeros(len(target)) if inputs else None, target, p0=list(ds.starts[start])
            )
        sd = np.sqrt(np.diag(cov))
    except Exception:
        return 0.0, 0.0
    return (
        min(digits(float(v), c) for v, c in zip(params, ds.certified)),
        min(digits(float(v), c) for v, c in zip(sd, ds.certified_sd)),
    )


def run(report: Report, settings: Settings) -> None:
    report.heading("7. fit: least squares, Adam, readers, memory, NIST")
    with tempfile.TemporaryDirectory(prefix="adcli-bench-fit-") as name:
        folder = Path(name)
        path = folder / "regression.csv"
        make_regression(path, settings.rows)
        readers(report, path, settings.repeats)
        least_squares(report, settings, path)
        adam(report, settings, folder)
        memory(report, settings, folder)
    nist(report)


def main() -> None:
    import argparse

    from run import adcli_command

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    command, env = adcli_command()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
    run(Report(), Settings(repeats=2 if args.quick else 5, command=command, env=env))


if __name__ == "__main__":
    main()
