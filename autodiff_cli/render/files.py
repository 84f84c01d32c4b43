"""Output files: whether a command can write a file of that kind, and writing it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import OutputFileError


def check_suffix(path: Path, allowed: Sequence[str], what: str, hint: str = "") -> str:
    """The suffix of ``path`` (lower case) if ``what`` can write it; otherwise OutputFileError."""
    suffix = path.suffix.lower()
    if suffix not in allowed:
        kinds = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
        found = suffix if suffix else "a file without a suffix"
        raise OutputFileError(f"{what} writes {kinds} files, not {found}{hint}")
    return suffix


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None
