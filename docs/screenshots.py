"""Screenshots of the page of ``adcli serve`` for the README, from the real page.

    python docs/screenshots.py [--out docs] [--width 1400]

Starts the server on 127.0.0.1, drives headless Chromium (Debian's chromium and
chromedriver, through Selenium: see tests/browser.py) through the page's states, and
saves each as a PNG: the backward pass halfway with the chain rule's sum at a node, an
input's paths to the output, the descent panel after some steps, an error with its caret,
and the whole page at a narrow width.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium, running_server  # noqa: E402

SHOTS = ("serve-backward.png", "serve-paths.png", "serve-descent.png", "serve-error.png",
         "serve-narrow.png")
"""What this script writes (tests/test_readme.py knows these pictures come from here)."""

START = {"expression": "sin(x)+x*y", "point": {"x": 1, "y": 2}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from tests.pagedriver import Page

    with running_server(START) as url, chromium(args.width, 1000) as driver:
        page = Page(driver, url)
        page.open()

        # The backward pass has reached x's node: its adjoint is the sum over its two uses.
        page.to_start()
        page.step_until("backward 5/5")
        page.shoot_viewport(args.out / "serve-backward.png", height=720)

        # x's paths to the output, with their products and their sum.
        page.to_end()
        page.pick_input("x")
        page.shoot_viewport(args.out / "serve-paths.png", height=860, top="graph-panel")

        # Descent on Rosenbrock's function: Adam from (-1.5, 2), 2,000 steps.
        page.type_expression("(1-x)^2 + 100*(y-x^2)^2")
        page.set_value("x", "-1.5")
        page.set_value("y", "2")
        page.choose_optimizer("adam", "0.05")
        page.descend(1000, times=2)
        page.shoot_element("descent-panel", args.out / "serve-descent.png")

        # A syntax error while typing: the message and the caret, as the command line prints them.
        page.type_expression("sin(x) + x*(y - ")
        page.wait_for_error()
        page.shoot_element("input-panel", args.out / "serve-error.png")

    with running_server(START) as url, chromium(560, 1400) as driver:
        page = Page(driver, url)
        page.open()
        page.to_start()
        page.step_until("backward 2/5")
        page.shoot_viewport(args.out / "serve-narrow.png", height=1400)
    for name in SHOTS:
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
