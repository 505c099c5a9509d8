"""End-to-end fixtures, reusable by every e2e test module.

Per test module: a database built by the real migrations, an organisation with an admin and
a member created through the real CLI, gunicorn and one ``rq worker`` as subprocesses
(``live_stack``), and Debian's Chromium driven by Playwright (``browser``); per test: a
fresh browser context (``page``). When a test fails, the processes' log tails and a
screenshot are added to its report. Page helpers (``sign_in``) live in ``browser.py``, the
process plumbing (``LiveStack.start_worker`` for more workers) in ``harness.py``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from redis import Redis

from bulkapp.config import normalise_database_url
from tests.conftest import PASSWORD
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, save_screenshot
from tests.e2e.harness import LiveStack, drop_all_tables, run_flask, running_stack

E2E_REDIS_DB = 1  # the in-process tests use db 0 and flush it per test


@dataclass(frozen=True)
class E2EAccounts:
    """The organisation and users the CLI created for a test module."""

    org_slug: str
    admin_email: str
    member_email: str
    password: str = PASSWORD


@pytest.fixture(scope="module")
def e2e_root(tmp_path_factory) -> Path:
    """A directory for this module's database, uploads, reports and process logs."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def e2e_env(e2e_root, redis_server) -> Iterator[dict[str, str]]:
    """Environment for the subprocesses, pointing at a freshly migrated database.

    SQLite file under a tmp dir, or the emptied ``TEST_DATABASE_URL`` database; a Redis db of
    its own on the session's redis-server. Tables are dropped and Redis flushed afterwards.
    """
    test_database_url = os.environ.get("TEST_DATABASE_URL")
    database_url = (normalise_database_url(test_database_url) if test_database_url
                    else f"sqlite:///{e2e_root / 'e2e.db'}")
    redis_url = f"redis://127.0.0.1:{redis_server.port}/{E2E_REDIS_DB}"
    env = {key: value for key, value in os.environ.items()
           if key not in ("FLASK_APP", "TEST_DATABASE_URL")}
    env.update({
        "BULKAPP_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_DIR": str(e2e_root / "instance"),
        "UPLOAD_DIR": str(e2e_root / "uploads"),
        "REPORT_DIR": str(e2e_root / "reports"),
        "PYTHONUNBUFFERED": "1",
    })
    redis = Redis.from_url(redis_url)
    drop_all_tables(database_url)
    redis.flushdb()
    try:
        run_flask(env, "db", "upgrade")
        yield env
    finally:
        drop_all_tables(database_url)
        redis.flushdb()
        redis.close()


@pytest.fixture(scope="module")
def flask_cli(e2e_env) -> Callable[..., str]:
    """Run ``flask --app wsgi ARGS`` against the e2e database; returns its output."""
    return lambda *args: run_flask(e2e_env, *args)


@pytest.fixture(scope="module")
def e2e_accounts(flask_cli) -> E2EAccounts:
    """An organisation with a national admin and a member, created with the real CLI."""
    accounts = E2EAccounts("e2e-org", "admin@e2e.example", "member@e2e.example")
    flask_cli("orgs", "create", "E2E Organisation", "--slug", accounts.org_slug)
    for email, role in ((accounts.admin_email, "national_admin"),
                        (accounts.member_email, "member")):
        flask_cli("users", "create", "--org", accounts.org_slug, "--email", email,
                  "--role", role, "--password", accounts.password)
    return accounts


@pytest.fixture(scope="module")
def live_stack(e2e_root, e2e_env, e2e_accounts) -> Iterator[LiveStack]:
    """gunicorn on a free port and one ``rq worker``, both real subprocesses."""
    with running_stack(e2e_env, e2e_root / "logs") as stack:
        yield stack


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
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
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
    """On a failed e2e test, add the processes' log tails (and a screenshot) to its report."""
    report = yield
    if report.when == "call" and report.failed:
        stack = item.funcargs.get("live_stack")
        if isinstance(stack, LiveStack):
            report.sections.extend(stack.log_tails())
            browser_page = item.funcargs.get("page")
            if browser_page is not None:
                shot = save_screenshot(browser_page, stack.log_dir / f"{item.name}.png")
                report.sections.append(("screenshot", shot))
    return report

