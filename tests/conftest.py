"""Test settings: under CI (CI set in the environment, as .ci/run has it) hypothesis draws
the same examples every run, so a red build is reproducible and never a roll of the dice;
locally it explores new examples each time."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
