"""The page of ``adcli serve`` in a real browser: headless Chromium, driven by Selenium.

Where the browser or its driver is missing (and .ci/run could not install them), each
test is skipped and says why; it never passes without running.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from autodiff_cli import grad, parse
from autodiff_cli.errors import AdcliError
from autodiff_cli.optimize.descent import DescentConfig, descend

from .browser import chromium, find, running_server

START = {"expression": "sin(x)+x*y", "point": {"x": 1.0, "y": 2.0}}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    found = find()
    if isinstance(found, str):
        pytest.skip(f"no browser for the page's tests: {found}")
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with running_server(START) as address:
        yield address


@pytest.fixture
def page(browser: Any, url: str) -> Any:
    from .pagedriver import Page

    opened = Page(browser, url)
    opened.open()
    return opened


def test_stepping_the_backward_pass_to_the_end_shows_the_gradient(page: Any) -> None:
    text = "x*x + sin(x)*y"
    page.type_expression(text)
    page.set_value("x", "0.5")
    page.set_value("y", "3")
    expected = grad(text, x=0.5, y=3)

    page.to_start()
    x_adjoint = '#trace tr[data-node="w1"] td.adjoint'
    assert page.text(x_adjoint) == "·"
    labels = []
    while page.label() != "done":
        labels.append(page.step())
        if labels[-1].startswith("backward") and not labels[-1].endswith("w1"):
            assert page.text(x_adjoint) == "·", "x's adjoint is known only at its own backward step"
    # w1 … w6 forward, w6 … w1 backward, then done.
    assert labels[:6] == [f"forward {i}/6 · w{i}" for i in range(1, 7)]
    assert labels[6:12] == [f"backward {i}/6 · w{7 - i}" for i in range(1, 7)]
    assert page.text(x_adjoint) == repr(expected.gradient["x"])
    assert page.text('#trace tr[data-node="w2"] td.adjoint') == repr(expected.gradient["y"])
    assert page.text('#summary [data-variable="x"]') == f"∂f/∂x = {expected.gradient['x']!r}"
    node = page.find('#graph [data-node="w1"] text.adjoint')
    assert float(node.get_attribute("data-full")) == expected.gradient["x"]


def test_the_backward_step_at_a_shared_node_shows_the_chain_rules_sum(page: Any) -> None:
    page.to_start()
    page.step_until("backward 5/5")  # sin(x)+x*y: x is w1, used by w3 = sin(w1) and w4 = w1·w2
    explained = page.text("#explain")
    assert "w1 is used 2 times (by w3, w4)" in explained
    assert "∂f/∂w1 = ∂f/∂w3·∂w3/∂w1" in explained and "∂f/∂w4·∂w4/∂w1" in explained
    assert "1·cos(w1)" in explained and "1·w2" in explained
    assert explained.splitlines()[-1].split() == ["=", repr(grad("sin(x)+x*y", x=1, y=2).gradient["x"])]
    highlighted = {e.get_attribute("data-to") for e in page.all("#graph path.edge.backward")}
    assert highlighted == {"w3", "w4"}


def test_an_error_shows_its_caret_as_the_command_line_prints_it(page: Any) -> None:
    text = "sin(x) + (y * 2"
    page.type_expression(text)
    shown = page.wait_for_error()
    with pytest.raises(AdcliError) as raised:
        parse(text)
    assert shown == "error: " + str(raised.value)
    source_line, caret_line = shown.splitlines()[-2:]
    assert source_line.strip() == text
    assert source_line[caret_line.index("^")] == "("
    page.type_expression("sin(x) + (y * 2)")
    assert page.wait(lambda: not page.error_shown(), "the error to go")


def test_an_input_lights_up_its_paths_and_their_sum_is_its_gradient(page: Any) -> None:
    page.pick_input("x")
    terms = [line.text for line in page.all("#paths .term")]
    assert terms == ["w1 → w3 → w5: cos(w1)·1 = 0.5403023058681398", "w1 → w4 → w5: w2·1 = 2.0"]
    gradient = repr(grad("sin(x)+x*y", x=1, y=2).gradient["x"])
    assert page.text("#paths .total .sum") == f"sum of the terms = {gradient}"
    assert page.text("#paths .total .gradient") == f"∂f/∂x by backpropagation = {gradient}"
    on_path = {(e.get_attribute("data-from"), e.get_attribute("data-to"))
               for e in page.all("#graph path.edge.on-path")}
    assert on_path == {("w1", "w3"), ("w3", "w5"), ("w1", "w4"), ("w4", "w5")}


def test_descent_steps_move_the_point_as_adcli_descend_does(page: Any) -> None:
    text = "(1-x)^2 + 100*(y-x^2)^2"
    page.type_expression(text)
    page.set_value("x", "-1.5")
    page.set_value("y", "2")
    page.choose_optimizer("momentum", "0.0005")
    page.descend(10, times=2)
    expected, _ = descend(parse(text), {"x": -1.5, "y": 2.0}, ("x", "y"),
                          DescentConfig(optimizer="momentum", hyper={"lr": 0.0005}, steps=20))
    assert page.point() == expected.point
    assert page.text("#descent-status").startswith(f"step 20 · loss {expected.value!r}")
    assert page.all("#loss path.curve")
