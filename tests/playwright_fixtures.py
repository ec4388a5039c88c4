"""Browser fixtures: Debian's Chromium driven by Playwright's sync API, against ``live_server``.

``make test`` installs Chromium (``make chromium``); without it these tests fail rather than skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the main thread, so Django's guard against ORM calls
# from async code would trip on the test's own database set-up. The live server runs in a
# thread of its own and is not affected.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"No Chromium at {CHROMIUM}: run `make chromium` (or set CHROMIUM).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh page (own cookies and storage) whose relative URLs go to ``live_server``."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@dataclass
class PageLog:
    """What went wrong on a page: answers of 400 or more, and script errors."""

    failed_responses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def page_log(page) -> PageLog:
    """Record the failed requests (pages, styles, scripts, images) and script errors of ``page``."""
    log = PageLog()

    def on_response(response) -> None:
        if response.status >= 400:
            log.failed_responses.append(f"{response.status} {response.url}")

    def on_console(message) -> None:
        if message.type == "error":
            log.errors.append(message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: log.errors.append(str(error)))
    return log
