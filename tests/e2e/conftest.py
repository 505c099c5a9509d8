"""End-to-end fixtures for the browser: Debian's Chromium driven by Playwright (``browser``,
per test module) and a fresh browser context on the live stack (``page``, per test). When a
browser test fails, a screenshot is added to its report (the processes' log tails come from
tests/conftest.py). The live stack itself (a migrated database, accounts made with the real
CLI, gunicorn and an ``rq worker``) is built once per session by ``harness.py``; page
helpers (``sign_in``) live in ``browser.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, save_screenshot


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright (never a downloaded browser).

    Skips without /usr/bin/chromium, except under CI, where the browser test must run.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_stack) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies) whose relative URLs hit ``live_stack``."""
    expect.set_options(timeout=10_000)
    context = browser.new_context(base_url=live_stack.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, add a screenshot of its page to its report."""
    report = yield
    browser_page = item.funcargs.get("page") if report.when == "call" and report.failed else None
    if browser_page is not None:
        path = item.funcargs["live_stack"].log_dir / f"{item.name}.png"
        report.sections.append(("screenshot", save_screenshot(browser_page, path)))
    return report
