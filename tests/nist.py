"""The NIST StRD nonlinear regression datasets (tests/data/nist/): their headers read, their
models written as adcli expressions, and how many significant digits a fit gets right.

The numbers (starting values, certified parameters and standard deviations, residual sum
of squares, the data) are read from NIST's files as they are; only the models are written
here, by hand, from the Fortran-like notation of each file's header.  A test checks each
transcription: at the certified parameters, the model's residual sum of squares is the
certified one.  Shared by tests/test_fit_nist.py and benchmarks/bench_fit.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "data" / "nist"

MODELS: dict[str, str] = {
    # lower difficulty
    "Misra1a": "b1*(1-exp(-b2*x))",
    "Chwirut2": "exp(-b1*x)/(b2+b3*x)",
    "Chwirut1": "exp(-b1*x)/(b2+b3*x)",
    "Lanczos3": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Gauss1": "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
    "Gauss2": "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
    "DanWood": "b1*x^b2",
    "Misra1b": "b1*(1-(1+b2*x/2)^(-2))",
    # average difficulty
    "Kirby2": "(b1 + b2*x + b3*x^2) / (1 + b4*x + b5*x^2)",
    "Hahn1": "(b1 + b2*x + b3*x^2 + b4*x^3) / (1 + b5*x + b6*x^2 + b7*x^3)",
    "Nelson": "b1 - b2*x1*exp(-b3*x2)",  # fitted to log(y)
    "MGH17": "b1 + b2*exp(-x*b4) + b3*exp(-x*b5)",
    "Lanczos1": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Lanczos2": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Gauss3": "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)",
    "Misra1c": "b1*(1-(1+2*b2*x)^(-0.5))",
    "Misra1d": "b1*b2*x*((1+b2*x)^(-1))",
    "Roszman1": "b1 - b2*x - atan(b3/(x-b4))/pi",
    "ENSO": "b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12) + b5*cos(2*pi*x/b4) + b6*sin(2*pi*x/b4)"
    " + b8*cos(2*pi*x/b7) + b9*sin(2*pi*x/b7)",
    # higher difficulty
    "MGH09": "b1*(x^2+x*b2) / (x^2+x*b3+b4)",
    "Thurber": "(b1 + b2*x + b3*x^2 + b4*x^3) / (1 + b5*x + b6*x^2 + b7*x^3)",
    "BoxBOD": "b1*(1-exp(-b2*x))",
    "Rat42": "b1 / (1+exp(b2-b3*x))",
    "MGH10": "b1 * exp(b2/(x+b3))",
    "Eckerle4": "(b1/b2) * exp(-0.5*((x-b3)/b2)^2)",
    "Rat43": "b1 / ((1+exp(b2-b3*x))^(1/b4))",
    "Bennett5": "b1 * (b2+x)^(-1/b3)",
}
"""NIST's order: lower, average, then higher difficulty."""

TARGETS = {"Nelson": "log(y)"}
"""The response each model is fitted to, where it is not the column y (Nelson's header:
log[y] = b1 - b2*x1 * exp[-b3*x2] + e)."""


@dataclass(frozen=True)
class Dataset:
    """One NIST StRD file, as its header and data give it."""

    name: str
    difficulty: str
    columns: tuple[str, ...]
    rows: tuple[tuple[float, ...], ...]
    parameters: tuple[str, ...]
    starts: tuple[tuple[float, ...], tuple[float, ...]]
    certified: tuple[float, ...]
    certified_sd: tuple[float, ...]
    rss: float
    residual_sd: float
    dof: int
    observations: int

    @property
    def model(self) -> str:
        return MODELS[self.name]

    @property
    def target(self) -> str:
        return TARGETS.get(self.name, "y")

    def csv(self) -> str:
        """The data as CSV text with a header (numbers as NIST wrote them)."""
        lines = [",".join(self.columns)]
        lines += [",".join(repr(v) for v in row) for row in self.rows]
        return "\n".join(lines) + "\n"


_PARAMETER = re.compile(r"^\s*(b\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


def _number(pattern: str, text: str) -> str:
    found = re.search(pattern + r"\s*(\S+)", text)
    assert found, pattern
    return found.group(1)


def load(name: str) -> Dataset:
    """Read ``tests/data/nist/<name>.dat``."""
    text = (FOLDER / f"{name}.dat").read_text(encoding="ascii")
    lines = text.splitlines()
    parameters, first, second, certified, sd = [], [], [], [], []
    for line in lines:
        found = _PARAMETER.match(line)
        if found:
            parameters.append(found.group(1))
            for target, group in zip((first, second, certified, sd), range(2, 6)):
                target.append(float(found.group(group)))
    header = next(i for i, line in enumerate(lines) if re.match(r"^Data:\s+y\b", line))
    columns = tuple(lines[header].split()[1:])
    rows = tuple(tuple(float(v) for v in line.split()) for line in lines[header + 1 :] if line.strip())
    difficulty = re.search(r"(Lower|Average|Higher) Level of Difficulty", text)
    assert difficulty
    return Dataset(
        name=name,
        difficulty=difficulty.group(1).lower(),
        columns=columns,
        rows=rows,
        parameters=tuple(parameters),
        starts=(tuple(first), tuple(second)),
        certified=tuple(certified),
        certified_sd=tuple(sd),
        rss=float(_number(r"Residual Sum of Squares:", text)),
        residual_sd=float(_number(r"Residual Standard Deviation:", text)),
        dof=int(_number(r"Degrees of Freedom:", text)),
        observations=int(_number(r"Number of Observations:", text)),
    )


def digits(value: float, certified: float) -> float:
    """The log relative error, -log10(|value - certified| / |certified|): the number of
    significant digits in agreement (NIST's LRE), capped at 15; 0 for nan."""
    if not math.isfinite(value):
        return 0.0
    if value == certified:
        return 15.0
    error = abs(value - certified) / abs(certified)
    return max(0.0, min(15.0, -math.log10(error)))


def datasets() -> list[Dataset]:
    return [load(name) for name in MODELS]
