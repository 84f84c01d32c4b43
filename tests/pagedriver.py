"""The page of ``adcli serve`` as a person uses it, through Selenium, with explicit waits.

Every action waits for what it causes (a label, an answer from the server shown on the
page), never for a fixed time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 20.0
"""Seconds before a wait gives up (a loaded shared machine is slow, but never this slow)."""


class Page:
    def __init__(self, driver: Any, url: str) -> None:
        self.driver = driver
        self.url = url

    # -- finding and waiting
    def find(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def wait(self, condition: Any, what: str) -> Any:
        return WebDriverWait(self.driver, WAIT).until(lambda d: condition(), message=f"waiting for {what}")

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    def label(self) -> str:
        return self.text("#step-label")

    def shown(self) -> str | None:
        value = self.driver.execute_script("return document.body.dataset.shown || null")
        return None if value is None else str(value)

    def point(self) -> dict[str, Any]:
        text = self.driver.execute_script("return document.body.dataset.point || '{}'")
        return dict(json.loads(text))

    # -- actions
    def open(self) -> None:
        self.driver.get(self.url)
        self.wait(lambda: self.all("#graph .node") and self.label() == "done", "the first graph")

    def click(self, css: str) -> None:
        self.find(css).click()

    def to_start(self) -> None:
        self.click("#to-start")
        self.wait(lambda: self.label() == "start", "the start")

    def to_end(self) -> None:
        self.click("#to-end")
        self.wait(lambda: self.label() == "done", "the end")

    def step(self) -> str:
        before = self.label()
        self.click("#step-forward")
        self.wait(lambda: self.label() != before, "the next step")
        return self.label()

    def step_until(self, label: str, most: int = 1000) -> None:
        """Step forward until the step label is ``label`` (or starts with it: ``backward 5/5``
        for ``backward 5/5 · w1``)."""
        for _ in range(most):
            if self.label() == label or self.label().startswith(label + " "):
                return
            if self.step() == "done" and label != "done":
                break
        raise AssertionError(f"never reached the step {label!r}")

    def type_expression(self, text: str) -> None:
        box = self.find("#expression")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys(text)
        self.wait(lambda: self.shown() == text or self.error_shown(),
                  f"the page to show {text!r} or an error")

    def error_shown(self) -> bool:
        return self.find("#expression-error").get_attribute("hidden") is None

    def wait_for_error(self) -> str:
        self.wait(lambda: self.error_shown() and self.text("#expression-error"),
                  "an error under the expression")
        return self.text("#expression-error")

    def set_value(self, name: str, value: str) -> None:
        field = self.find(f'#variables input[type="text"][data-variable="{name}"]')
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(value)
        self.wait(lambda: self.point().get(name) == float(value), f"{name} = {value}")

    def pick_input(self, name: str) -> None:
        self.click(f'#path-inputs button[data-variable="{name}"]')
        self.wait(lambda: self.all("#paths .total"), f"the paths of {name}")

    def choose_optimizer(self, name: str, lr: str) -> None:
        Select(self.find("#optimizer")).select_by_value(name)
        box = self.find("#lr")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(lr)

    def descend(self, steps: int, times: int = 1) -> None:
        Select(self.find("#descent-steps")).select_by_visible_text(str(steps))
        for i in range(1, times + 1):
            self.click("#descent-step")
            self.wait(lambda i=i: self.text("#descent-status").startswith(f"step {i * steps:,} "),
                      f"step {i * steps}")
        self.wait(lambda: self.point() == self.fields(), "the graph at the descent's point")

    def fields(self) -> dict[str, float]:
        """The values in the variables' fields (the descent moves them)."""
        return {str(box.get_attribute("data-variable")): float(box.get_attribute("value"))
                for box in self.all('#variables input[type="text"]')}

    # -- pictures
    def shoot_viewport(self, path: Path, height: int | None = None, top: str | None = None) -> None:
        """The window (``height`` pixels high), scrolled to the top or to the element ``top``."""
        if height is not None:
            width = self.driver.get_window_size()["width"]
            self.driver.set_window_size(width, height)
        if top is None:
            self.driver.execute_script("window.scrollTo(0, 0)")
        else:
            self.driver.execute_script(
                "window.scrollTo(0, document.getElementById(arguments[0]).offsetTop - 8)", top)
        self.driver.save_screenshot(str(path))

    def shoot_element(self, element_id: str, path: Path) -> None:
        element = self.find(f"#{element_id}")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)
        element.screenshot(str(path))
