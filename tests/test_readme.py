"""Every ```console example in the README prints what the README shows.

The examples run in a scratch folder holding a copy of examples/, so the files
they write (pictures) never touch the checkout.  Run ``python tests/test_readme.py
--update`` to rewrite the outputs after a deliberate change of behaviour (then read
the diff), and ``--pictures`` to remake the README's pictures in docs/ from the
commands that write them.  The examples of ``adcli serve``'s JSON API ask a server
that this file starts on a free port, named in the README as port 8765.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
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


def scratch() -> Path:
    """A new folder with a copy of the repository's examples/, where the commands run."""
    folder = Path(tempfile.mkdtemp(prefix="adcli-readme-"))
    shutil.copytree(README.parent / "examples", folder / "examples")
    return folder


def written(command: str) -> str | None:
    """The picture a command writes (its --output or --plot file), if any."""
    words = shlex.split(command)
    for flag in ("--output", "--plot"):
        if flag in words:
            return words[words.index(flag) + 1]
    return None


def needs_graphviz(command: str) -> bool:
    target = written(command) or ""
    return "--format dot" in command and target.endswith((".svg", ".png", ".pdf"))


README_PORT = "8765"
"""The port of the README's examples of the JSON API; they run against a server of our own."""


def needs_server(command: str) -> bool:
    return f"127.0.0.1:{README_PORT}" in command


def run(command: str, cwd: Path | None = None) -> str:
    """The command's output (stdout, then stderr), run in ``cwd`` or in a scratch folder."""
    if needs_server(command):
        if str(README.parent) not in sys.path:  # run as a script: tests/ is not a package then
            sys.path.insert(0, str(README.parent))
        from tests.browser import running_server

        with running_server() as url:
            port = url.rstrip("/").rpartition(":")[2]
            output = run(command.replace(README_PORT, port), cwd)
        return output.replace(f":{port}", f":{README_PORT}")
    if cwd is None:
        folder = scratch()
        try:
            return run(command, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)
    text = done.stdout + done.stderr
    return "\n".join(line.rstrip() for line in text.rstrip("\n").splitlines())


def normalize(text: str) -> str:
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return VOLATILE.sub(lambda m: (m.group(1) or m.group(2)) + "…", text)


@pytest.mark.parametrize("command, expected", examples(README.read_text(encoding="utf-8")))
def test_readme_example(command: str, expected: str) -> None:
    if needs_graphviz(command) and shutil.which("dot") is None:
        pytest.skip("drawing DOT as a picture needs Graphviz's dot program, which is not installed")
    if needs_server(command) and shutil.which("curl") is None:
        pytest.skip("the examples of the JSON API use curl, which is not installed")
    folder = scratch()
    try:
        assert normalize(run(command, folder)) == normalize(expected)
        picture = written(command)
        if picture is not None and not expected.startswith("error:"):
            assert (folder / picture).stat().st_size > 0
            if "--format svg" in command:  # adcli's own drawing is deterministic: docs/ is current
                assert (folder / picture).read_bytes() == (README.parent / "docs" / picture).read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def screenshots() -> set[str]:
    """The pictures docs/screenshots.py takes of the page of ``adcli serve`` (its SHOTS)."""
    import ast

    tree = ast.parse((README.parent / "docs" / "screenshots.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["SHOTS"]:
            return set(ast.literal_eval(node.value))
    raise AssertionError("docs/screenshots.py has no SHOTS")


def test_readme_pictures_are_in_docs() -> None:
    """Each picture a README command writes is shown from docs/, under the same name; the
    others shown are the screenshots docs/screenshots.py takes."""
    text = README.read_text(encoding="utf-8")
    shown = set(re.findall(r"^\s*!\[.*\]\(docs/([^)]+)\)$", text, re.M))
    made = {written(command) for command, output in examples(text) if not output.startswith("error:")}
    made.discard(None)
    shots = screenshots()
    assert shown - shots == made
    assert shown & shots
    for name in shown | shots:
        assert (README.parent / "docs" / name).is_file()


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


def pictures() -> None:
    """Run each README command that writes a picture, and keep the picture in docs/."""
    for command, output in examples(README.read_text(encoding="utf-8")):
        name = written(command)
        if name is None or output.startswith("error:"):
            continue
        folder = scratch()
        print(run(command, folder))
        shutil.copyfile(folder / name, README.parent / "docs" / name)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    update()
elif __name__ == "__main__" and sys.argv[1:] == ["--pictures"]:
    pictures()
