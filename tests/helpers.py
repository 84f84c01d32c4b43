"""What many test modules share: one CLI runner, driving the app as a user's shell would."""

from __future__ import annotations

from typer.testing import CliRunner

from autodiff_cli.cli import app

runner = CliRunner()
"""Runs ``adcli`` in-process: ``runner.invoke(app, ["grad", "x^2", "--x", "3"])``."""

__all__ = ["app", "runner"]
