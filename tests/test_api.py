"""The package's public names are what they say, however many submodules are loaded."""

from __future__ import annotations

import importlib
import pkgutil

import autodiff_cli


def modules() -> list[str]:
    """Every module of the package, subpackages' too (not __main__, which runs the CLI)."""
    return [m.name for m in pkgutil.walk_packages(autodiff_cli.__path__, "autodiff_cli.")
            if not m.name.endswith("__main__")]


def test_public_names_stay_functions_after_every_submodule_is_imported() -> None:
    for name in modules():
        importlib.import_module(name)
    for name in autodiff_cli.__all__:
        value = getattr(autodiff_cli, name)
        assert not isinstance(value, type(autodiff_cli)), f"autodiff_cli.{name} is a module"
    assert autodiff_cli.grad("x*y", x=2, y=3).gradient == {"x": 3.0, "y": 2.0}
    assert autodiff_cli.hessian("x^2*y", x=1, y=2).matrix == ((4.0, 2.0), (2.0, 0.0))


def test_docstring_examples() -> None:
    import doctest

    for name in modules():
        assert doctest.testmod(importlib.import_module(name)).failed == 0, name
