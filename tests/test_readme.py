"""Every ```console example in the README prints what the README shows.

Run ``python tests/test_readme.py --update`` to rewrite the outputs after a
deliberate change of behaviour (then read the diff).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
# Lines that differ from run to run: timings.
VOLATILE = re.compile(r"^(elapsed\s+).*$|(\"elapsed\": )[0-9.e-]+", re.M)


def examples(text: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs: a block's lines after each '$ ' up to the next."""
    pairs: list[tuple[str, str]] = []
    for block in BLOCK.findall(text):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    pairs.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        if command is not None:
            pairs.append((command, "\n".join(output)))
    return pairs


def run(command: str) -> str:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env,
                          cwd=README.parent, timeout=120)
    text = done.stdout + done.stderr
    return "\n".join(line.rstrip() for line in text.rstrip("\n").splitlines())


def normalize(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return VOLATILE.sub(lambda m: (m.group(1) or m.group(2)) + "…", text)


@pytest.mark.parametrize("command, expected", examples(README.read_text(encoding="utf-8")))
def test_readme_example(command: str, expected: str) -> None:
    assert normalize(run(command)) == normalize(expected)


def test_readme_python_examples() -> None:
    """The ```pycon blocks run as doctests."""
    import doctest

    text = "\n".join(re.findall(r"```pycon\n(.*?)```", README.read_text(encoding="utf-8"), re.S))
    test = doctest.DocTestParser().get_doctest(text, {}, "README", str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 10


def update() -> None:
    text = README.read_text(encoding="utf-8")

    def redo(match: re.Match[str]) -> str:
        lines: list[str] = []
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                lines.append(line)
                lines.extend(run(line[2:]).splitlines())
        return "```console\n" + "\n".join(lines) + "\n```"

    README.write_text(BLOCK.sub(redo, text), encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    update()
