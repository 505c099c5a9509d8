"""Driving Debian's Chromium through Playwright: launch options and page helpers."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Error, Page, expect

from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
UI_TIMEOUT_MS = 120_000  # generous: a worker on a busy CI machine may take a while


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait until the signed-in page shows."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def upload_through_form(page: Page, path: Path, entity: str = "mechanics") -> str:
    """Upload ``path`` as ``entity`` through the upload form, importing at once when its
    mapping is certain; the URL of the job page it lands on."""
    page.goto("/upload")
    page.select_option("#entity_type", entity)
    page.set_input_files("#file", str(path))
    page.check("#import_when_certain")  # exact headers: no need to stop at the review
    page.get_by_role("button", name="Upload").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}$"))
    return page.url


def save_screenshot(page: Page, path: Path) -> str:
    """Save what ``page`` shows to ``path``; the path, or why there is no screenshot."""
    try:
        page.screenshot(path=str(path), full_page=True)
    except Error as exc:
        return f"no screenshot: {exc}"
    return str(path)
