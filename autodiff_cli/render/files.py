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


def check_writable(path: str | Path) -> Path:
    """``path`` as a Path, if a file can be written there: its folder exists and it is no
    folder itself.  Checked before the work that makes the file, so that a long run does
    not end in an error."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OutputFileError(f"cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise OutputFileError(f"cannot write {path}: the folder {str(folder)!r} does not exist")
    return target


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8."""
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None
