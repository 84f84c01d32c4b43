"""What many test modules share: one CLI runner, driving the app as a user's shell would."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

from autodiff_cli.cli import app

runner = CliRunner()
"""Runs ``adcli`` in-process: ``runner.invoke(app, ["grad", "x^2", "--x", "3"])``."""

READERS = [
    "numpy",
    pytest.param(
        "pyarrow",
        marks=pytest.mark.skipif(
            not importlib.util.find_spec("pyarrow"),
            reason="pyarrow (the data extra) is not installed",
        ),
    ),
]
"""fit's CSV readers, for parametrizing: pyarrow's tests are skipped, with the reason, without it."""

__all__ = ["READERS", "app", "runner"]
