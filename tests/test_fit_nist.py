"""Certified accuracy: the 27 NIST StRD nonlinear regression datasets, from both starts.

Every certified parameter to at least 6 significant digits and every certified standard
deviation to at least 4 (NIST's log relative error), on all 54 runs; the data, starts and
certified values come from NIST's files (tests/data/nist/), the models from tests/nist.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from autodiff_cli import compile_program, parse
from autodiff_cli.cli import app
from autodiff_cli.fit import FitConfig, fit

from .nist import MODELS, datasets, digits, load

CASES = [(name, start) for name in MODELS for start in (1, 2)]


def test_every_dataset_is_read_and_every_model_transcribed() -> None:
    """At the certified parameters, each model's residual sum of squares is the certified one:
    the transcription of the model and the reading of the file are right."""
    found = datasets()
    assert len(found) == 27
    for ds in found:
        # (Rat43's header says 9 degrees of freedom for 15 observations and 4 parameters; its
        # residual standard deviation is sqrt(RSS/11), so the 9 is a misprint.)
        assert len(ds.rows) == ds.observations
        program = parse(ds.model)
        assert set(program.variables) == set(ds.parameters) | set(ds.columns[1:])
        columns = {name: np.array([row[i] for row in ds.rows]) for i, name in enumerate(ds.columns)}
        values = dict(zip(ds.parameters, ds.certified))
        args = [values.get(name, columns.get(name)) for name in program.variables]
        model = compile_program(program).values_at(*args)
        target = np.log(columns["y"]) if ds.target == "log(y)" else columns["y"]
        rss = float(np.sum((target - model) ** 2))
        # The certified parameters are printed to 11 digits, so where the residuals are tiny
        # (Lanczos1: RSS 1.4e-25) their rounding alone moves the RSS: the tolerance allows
        # for it, relative to the size of the data, and a wrong model is far beyond it.
        assert abs(rss - ds.rss) <= 1e-6 * ds.rss + 1e-12 * float(np.sum(target**2)), ds.name


@pytest.mark.parametrize("name, start", CASES)
def test_certified_digits(tmp_path: Path, name: str, start: int) -> None:
    ds = load(name)
    path = tmp_path / f"{name}.csv"
    path.write_text(ds.csv(), encoding="ascii")
    result = fit(
        ds.model, path, config=FitConfig(target=ds.target), **dict(zip(ds.parameters, ds.starts[start - 1]))
    )
    assert result.standard_errors is not None
    worst = min(digits(result.parameters[p], c) for p, c in zip(ds.parameters, ds.certified))
    worst_sd = min(digits(result.standard_errors[p], c) for p, c in zip(ds.parameters, ds.certified_sd))
    assert worst >= 6, f"{name} start {start}: parameters to {worst:.1f} digits"
    assert worst_sd >= 4, f"{name} start {start}: standard deviations to {worst_sd:.1f} digits"
    assert result.degrees_of_freedom == ds.observations - len(ds.parameters)
    assert digits(result.residual_sum_of_squares or 0.0, ds.rss) >= 4
    assert digits(result.residual_standard_deviation or 0.0, ds.residual_sd) >= 4


def test_through_the_command_line(tmp_path: Path) -> None:
    """One of the hardest through the CLI's JSON: MGH09 from its first start (25, 39, 41.5, 39)."""
    ds = load("MGH09")
    path = tmp_path / "mgh09.csv"
    path.write_text(ds.csv(), encoding="ascii")
    starts = [arg for p, v in zip(ds.parameters, ds.starts[0]) for arg in (f"--{p}", repr(v))]
    out = CliRunner().invoke(app, ["fit", ds.model, "--data", str(path), *starts, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    for p, c, sd in zip(ds.parameters, ds.certified, ds.certified_sd):
        assert digits(data["parameters"][p], c) >= 6
        assert digits(data["standard_errors"][p], sd) >= 4
