"""Headless Chromium for the page of ``adcli serve``: found on this machine, never downloaded.

Used by the browser tests and by ``docs/screenshots.py``.  The browser is Debian's
``chromium`` and its driver ``chromedriver`` (packages chromium and chromium-driver),
driven by Selenium.  ``ADCLI_CHROMIUM`` and ``ADCLI_CHROMEDRIVER`` name other binaries
(a path that does not exist hides the browser, to see the tests skip).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
         "--force-device-scale-factor=1", "--lang=en-US")
"""As root in a container, without network: no sandbox, no GPU, no background traffic."""


def _which(variable: str, names: tuple[str, ...]) -> str | None:
    if variable in os.environ:
        path = os.environ[variable]
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def find() -> tuple[str, str] | str:
    """(browser, driver), or why there is none."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (it is in the test extra: pip install -e '.[test]')"
    browser = _which("ADCLI_CHROMIUM", BROWSERS)
    driver = _which("ADCLI_CHROMEDRIVER", ("chromedriver",))
    if browser is None or driver is None:
        missing = " and ".join(n for n, p in (("Chromium", browser), ("ChromeDriver", driver)) if p is None)
        return (f"no {missing} on this machine (apt-get install chromium chromium-driver; "
                "or point ADCLI_CHROMIUM and ADCLI_CHROMEDRIVER at them)")
    return browser, driver


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium driven by Selenium, with a fresh profile, closed at the end."""
    found = find()
    if isinstance(found, str):
        raise RuntimeError(found)
    browser, driver_path = found
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="adcli-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    # Selenium must not look for (or fetch) drivers and browsers itself.
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def running_server(start: dict[str, Any] | None = None) -> Iterator[str]:
    """An ``adcli serve`` server on 127.0.0.1 and a free port, in a thread: its address."""
    from autodiff_cli.web.server import make_server

    server = make_server("127.0.0.1", 0, start)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
