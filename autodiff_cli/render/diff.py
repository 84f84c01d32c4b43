"""Symbolic derivatives as adcli programs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine.symbolic import DiffResult


def _derivative_label(name: str, order: int) -> str:
    return f"∂/∂{name}" if order == 1 else f"∂^{order}/∂{name}^{order}"


def diff_text(result: DiffResult) -> str:
    """The derivatives as adcli programs; several are headed by comments, so each block reads back."""
    if not result.derivatives:
        return "# no variables to differentiate"
    if len(result.derivatives) == 1:
        return next(iter(result.derivatives.values()))
    return "\n\n".join(f"# {_derivative_label(name, result.order)}\n{text}"
                       for name, text in result.derivatives.items())
